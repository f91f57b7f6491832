#include "state_probe.h"

#include <cerrno>
#include <climits>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

bool state_read_links(const std::string& dir, std::vector<std::pair<std::string, std::string>>& links) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* stream = fdopendir(fd);
  if (!stream) {
    int saved = errno;
    close(fd);
    errno = saved;
    return false;
  }
  char target[PATH_MAX];
  while (dirent* entry = readdir(stream)) {
    if (entry->d_type != DT_LNK && entry->d_type != DT_UNKNOWN) continue;
    ssize_t length = readlinkat(fd, entry->d_name, target, sizeof target);
    if (length < 0 || length == static_cast<ssize_t>(sizeof target)) continue;  // not a link, gone, or too long
    links.emplace_back(entry->d_name, std::string(target, static_cast<size_t>(length)));
  }
  closedir(stream);
  return true;
}

bool state_probe_locks(const std::string& dir, const std::vector<std::string>& entries, const std::string& file,
                       std::vector<int32_t>& states) {
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return false;
  states.reserve(entries.size());
  for (const auto& entry : entries) {
    const std::string path = entry + "/" + file;
    int fd = openat(dir_fd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
      states.push_back(kProbeAbsent);
      continue;
    }
    int32_t state = kProbeFree;  // a shared lock we get goes away with the close
    if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
      struct stat st;
      state = errno != EWOULDBLOCK ? kProbeAbsent
              : fstat(fd, &st) < 0  ? kProbeHeld
                                    : kProbeHeld + static_cast<int32_t>(st.st_size < INT32_MAX - 1 ? st.st_size : INT32_MAX - 1);
    }
    close(fd);
    states.push_back(state);
  }
  close(dir_fd);
  return true;
}
