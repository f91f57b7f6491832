#include "seccomp_load.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int seccomp_program_read(const std::string& path, std::string& program) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size % sizeof(sock_filter) != 0 ||
      st.st_size > static_cast<off_t>(BPF_MAXINSNS * sizeof(sock_filter))) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  program.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < program.size()) {
    ssize_t n = read(fd, &program[done], program.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EINVAL;  // shorter than it said
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return 0;
}

int seccomp_program_load(const std::string& program) {
  sock_fprog filter = {};
  filter.len = static_cast<unsigned short>(program.size() / sizeof(sock_filter));
  filter.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(program.data()));
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) == 0) return 0;
  if (errno != ENOSYS) return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0);
}
