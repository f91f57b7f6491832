#include "slirp_network.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vector>

extern char** environ;

namespace {

const int kReadyTimeoutMs = 10000;  // it is ready in milliseconds; a deadline, not an expectation
const int kExitTimeoutMs = 2000;    // after the hang-up, before SIGKILL

// The descriptors slirp4netns finds, as its command line names them.
enum : int { kReadyFd = 3, kExitFd = 4, kUsernsFd = 5, kNetnsFd = 6 };

long long now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

std::vector<std::string> command_line(const Spec& spec, bool with_userns) {
  std::vector<std::string> args = {spec.slirp4netns, "--configure", "--mtu=65520"};
  if (!spec.slirp4netns_host_loopback) args.push_back("--disable-host-loopback");
  // libslirp parses every packet the container sends: keep it under a
  // seccomp filter, and, when the monitor is root, in a sandbox (own mount
  // namespace with /etc and /run only, no capability beyond
  // CAP_NET_BIND_SERVICE), as Podman does. An unprivileged monitor cannot
  // give it the sandbox (slirp4netns's setegid(0) fails outside a user
  // namespace, and running it inside the container's would let the container
  // reach its host-side sockets): rootless it has the seccomp filter and the
  // caller's own (unprivileged) credentials.
  if (geteuid() == 0) args.push_back("--enable-sandbox");
  args.push_back("--enable-seccomp");
  args.push_back("--ready-fd=" + std::to_string(kReadyFd));
  args.push_back("--exit-fd=" + std::to_string(kExitFd));
  if (with_userns) args.push_back("--userns-path=/proc/self/fd/" + std::to_string(kUsernsFd));
  args.push_back("--netns-type=path");
  args.push_back("/proc/self/fd/" + std::to_string(kNetnsFd));
  args.push_back("tap0");
  return args;
}

// The child between fork and execve: the descriptors in place, signals back
// to their defaults, death with the monitor.
[[noreturn]] void exec_slirp4netns(char** argv, int output, const int (&fds)[4], int monitor_pid) {
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0) _exit(126);
  // fds[] are all above kNetnsFd (F_DUPFD_CLOEXEC 10), so no dup2 below overwrites one still to come
  for (int i = 0; i < 4; i++) {
    if (fds[i] < 0) close(kReadyFd + i);  // no user namespace to join: nothing of ours there either
    else if (dup2(fds[i], kReadyFd + i) < 0) _exit(126);
  }
  close_range(kNetnsFd + 1, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor_pid) _exit(126);
  execve(argv[0], argv, environ);
  dprintf(2, "execve %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

// What slirp4netns said (its first line that is not a warning), for the error.
// The last line it printed that is not a warning: where it stopped, with why
// (the lines before tell how far it got: "sent tapfd=…").
std::string last_line(int output) {
  char text[1024] = {};
  ssize_t n = pread(output, text, sizeof text - 1, 0);
  std::string all(text, n > 0 ? static_cast<size_t>(n) : 0);
  std::string last;
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos) end = all.size();
    std::string line = all.substr(start, end - start);
    if (!line.empty() && line.compare(0, 8, "WARNING:") != 0) last = line;
    start = end + 1;
  }
  return last.empty() ? "exited without a message" : last;
}

bool same_namespace(int fd, const char* path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int dup_high(int fd) { return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10); }

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds)
    if (fd >= 0) close(fd);
}

}  // namespace

bool Slirp4netns::start(const Spec& spec, int pid, NetnsAgent& agent, std::string& failed) {
  stop();
  if (spec.network_mode != "slirp4netns") return true;
  failed = spec.slirp4netns;
  int userns_fd = -1, netns_fd = -1;
  if (agent.running()) {
    if (!agent.namespaces(userns_fd, netns_fd)) return false;
    if (same_namespace(userns_fd, "/proc/self/ns/user")) {  // nothing to join (slirp4netns would fail with EINVAL)
      close(userns_fd);
      userns_fd = -1;
    }
  } else {
    failed = "/proc/" + std::to_string(pid) + "/ns/net";
    netns_fd = open(failed.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) return false;
    failed = spec.slirp4netns;
  }
  // its output goes to a memfd: read back for the error, never into the container's log
  int output = memfd_create("slirp4netns-output", MFD_CLOEXEC);
  int ready[2] = {-1, -1}, exit_pipe[2] = {-1, -1};
  if (output < 0 || pipe2(ready, O_CLOEXEC) < 0 || pipe2(exit_pipe, O_CLOEXEC) < 0) {
    int saved = errno;
    close_all({userns_fd, netns_fd, output, ready[0], ready[1], exit_pipe[0], exit_pipe[1]});
    errno = saved;
    return false;
  }
  const int passed[4] = {dup_high(ready[1]), dup_high(exit_pipe[0]), dup_high(userns_fd), dup_high(netns_fd)};
  close_all({ready[1], exit_pipe[0], userns_fd, netns_fd});
  std::vector<std::string> args = command_line(spec, passed[2] >= 0);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int monitor_pid = getpid();
  pid_t child = fork();
  if (child == 0) exec_slirp4netns(argv.data(), output, passed, monitor_pid);
  int fork_errno = errno;
  close_all({passed[0], passed[1], passed[2], passed[3]});
  exit_fd_ = exit_pipe[1];
  if (child < 0) {
    close_all({output, ready[0]});
    stop();
    errno = fork_errno;
    return false;
  }
  pid_ = child;

  // Ready: one byte, then EOF. EOF first means it exited; no byte by the deadline, it hangs.
  char byte = 0;
  ssize_t got = -1;
  const long long deadline = now_ms() + kReadyTimeoutMs;
  for (;;) {
    const long long left = deadline - now_ms();
    pollfd wait = {ready[0], POLLIN, 0};
    int n = left > 0 ? poll(&wait, 1, static_cast<int>(left)) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      errno = ETIMEDOUT;
      break;
    }
    got = read(ready[0], &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) errno = ECONNABORTED;
    break;
  }
  close(ready[0]);
  const bool ok = got == 1 && byte == '1';
  int saved = errno;
  if (!ok) {
    failed = spec.slirp4netns + ": " + (saved == ETIMEDOUT ? "not ready within 10 s" : last_line(output));
    stop();
  } else {
    // what it printed while starting is no longer needed (later lines land past a hole)
    ftruncate(output, 0);
    failed.clear();
  }
  close(output);
  errno = saved;
  return ok;
}

void Slirp4netns::stop() {
  if (exit_fd_ >= 0) close(exit_fd_);  // the hang-up it waits for
  exit_fd_ = -1;
  if (pid_ <= 0) return;
  const long long deadline = now_ms() + kExitTimeoutMs;
  for (;;) {
    pid_t done = waitpid(pid_, nullptr, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR)) break;
    if (now_ms() >= deadline) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    usleep(5 * 1000);
  }
  pid_ = -1;
}
