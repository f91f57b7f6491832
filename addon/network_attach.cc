#include "network_attach.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

const char* const kIpPaths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};

std::string with_pid(const std::string& line, int pid) {
  std::string out = line;
  for (size_t at; (at = out.find("{pid}")) != std::string::npos;) out.replace(at, 5, std::to_string(pid));
  return out;
}

}  // namespace

bool network_run_ip(const std::vector<std::string>& lines, int pid, int netns_pid) {
  if (lines.empty()) return true;
  std::string batch;
  for (const auto& line : lines) batch += with_pid(line, pid) + "\n";
  int netns = -1;
  if (netns_pid > 0) {
    netns = open(("/proc/" + std::to_string(netns_pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
    if (netns < 0) return false;
  }
  int input[2];
  if (pipe2(input, O_CLOEXEC) < 0) {
    if (netns >= 0) close(netns);
    return false;
  }
  pid_t child = fork();
  if (child == 0) {
    signal(SIGPIPE, SIG_DFL);
    if (netns >= 0 && setns(netns, CLONE_NEWNET) < 0) _exit(126);
    dup2(input[0], 0);
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, 1);
    for (const char* path : kIpPaths) execl(path, "ip", "-batch", "-", static_cast<char*>(nullptr));
    _exit(127);
  }
  int saved = errno;
  close(input[0]);
  if (netns >= 0) close(netns);
  if (child < 0) {
    close(input[1]);
    errno = saved;
    return false;
  }
  const char* data = batch.data();
  size_t left = batch.size();
  while (left > 0) {
    ssize_t n = write(input[1], data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    left -= static_cast<size_t>(n);
  }
  close(input[1]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  errno = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ENOENT : EPROTO;
  return false;
}
