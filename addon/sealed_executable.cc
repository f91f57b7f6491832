#include "sealed_executable.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: executable even where vm.memfd_noexec defaults to no-exec
#endif
constexpr int kExecutableSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

int memfd_executable(const char* name) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);  // before 6.3
  return fd;
}

// Copies all of `from` (of `size` bytes) into `to`: nullptr, or the call
// that failed with errno set (EIO: the file changed size meanwhile).
const char* copy_all(int from, int to, off_t size) {
  std::vector<char> buffer(1 << 20);
  off_t copied = 0;
  for (;;) {
    ssize_t n = read(from, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "read";
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(to, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return "write";
      done += w;
    }
    copied += n;
  }
  if (copied == size) return nullptr;
  errno = EIO;
  return "read";
}

}  // namespace

int sealed_executable_copy(const std::string& path, const std::string& name, const char** failed) {
  int source = -1, copy = -1;
  auto give_up = [&](const char* call) {
    int saved = errno;
    if (source >= 0) close(source);
    if (copy >= 0) close(copy);
    *failed = call;
    errno = saved;
    return -1;
  };
  source = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source < 0) return give_up("open");
  struct stat st;
  if (fstat(source, &st) < 0) return give_up("fstat");
  copy = memfd_executable(name.c_str());
  if (copy < 0) return give_up("memfd_create");
  if (const char* call = copy_all(source, copy, st.st_size)) return give_up(call);
  close(source);
  source = -1;
  if (fchmod(copy, 0555) < 0) return give_up("fchmod");
  if (fcntl(copy, F_ADD_SEALS, kExecutableSeals) < 0) return give_up("fcntl");
  if (fcntl(copy, F_GET_SEALS) != kExecutableSeals) {
    errno = EPERM;
    return give_up("fcntl");
  }
  return copy;
}

