#include "cgroup_place.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

void cgroup_join_prepare(CgroupJoin& join, const std::vector<std::string>& procs_files) {
  for (const auto& file : procs_files) {
    const size_t slash = file.rfind('/');
    join.tasks_files.push_back((slash == std::string::npos ? std::string() : file.substr(0, slash + 1)) + "tasks");
  }
  for (size_t i = 0; i < join.tasks_files.size(); i++) {
    int fd = open(join.tasks_files[i].c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      join.open_errno = errno;
      join.failed = i;
      return;
    }
    join.fds.push_back(fd);
  }
}

CgroupJoin::~CgroupJoin() {
  for (int fd : fds) close(fd);
}

unsigned long cgroup_oom_kills(const std::string& counter_file) {
  if (counter_file.empty()) return 0;
  int fd = open(counter_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* line = strstr(buf, "oom_kill ");
  return line ? strtoul(line + 9, nullptr, 10) : 0;
}

bool cgroup_remove(const std::vector<std::string>& dirs) {
  const timespec pause = {0, 10 * 1000 * 1000};
  bool all_gone = true;
  for (const auto& dir : dirs) {
    bool gone = false;
    for (int attempt = 0; attempt < 300 && !gone; attempt++) {
      gone = rmdir(dir.c_str()) == 0 || errno == ENOENT;
      if (!gone && errno != EBUSY) break;
      if (!gone) nanosleep(&pause, nullptr);
    }
    all_gone = all_gone && gone;
  }
  return all_gone;
}
