#include "netns_agent.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>

#include "fd_passing.h"

namespace {

NetnsAgent* current_agent = nullptr;

// How long the monitor waits for an answer: the agent answers at once unless
// something is badly wrong, and the monitor must not hang.
const int kAnswerTimeoutSeconds = 2;

struct Request {
  int domain;
  int type;
};

// Sends `value` (an errno, 0 for success) with up to one descriptor.
void send_answer(int sock, int value, int fd) { send_with_fds(sock, &value, sizeof value, &fd, fd >= 0 ? 1 : 0); }

// The agent, in the forked child, top to bottom: join, drop, serve until EOF.
[[noreturn]] void agent_main(int sock, int userns_fd, int netns_fd, int monitor_pid) {
  prctl(PR_SET_NAME, "berth-netns");  // in ps, beside its monitor
  // 1. Nothing of the monitor's but the socket and the namespaces: not the
  //    control pipe (Node waits for its EOF), not the attached output, not
  //    the published ports.
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null_fd >= 0; fd++) dup2(null_fd, fd);
  const int high[3] = {fcntl(sock, F_DUPFD_CLOEXEC, 10), fcntl(userns_fd, F_DUPFD_CLOEXEC, 10), fcntl(netns_fd, F_DUPFD_CLOEXEC, 10)};
  for (int i = 0; i < 3; i++)  // from above 10, so no dup3 here overwrites a source still to come
    if (high[i] < 0 || dup3(high[i], 3 + i, O_CLOEXEC) < 0) _exit(126);
  close_range(6, ~0U, 0);
  // 2. The container's user namespace (EINVAL: it is ours already), then its
  //    network namespace, which it owns.
  if (setns(4, CLONE_NEWUSER) < 0 && errno != EINVAL) _exit(125);
  if (setns(5, CLONE_NEWNET) < 0) _exit(125);
  close_range(4, 5, 0);
  // 3. Die with the monitor (again: a credential change clears it), stay not
  //    dumpable, and keep no capability: making a TCP or UDP socket needs none.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor_pid) _exit(124);
  prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  if (syscall(SYS_capset, &header, none) < 0) _exit(123);
  // 4. Ready (the monitor waits for this), then serve.
  send_answer(3, 0, -1);
  for (;;) {
    Request request;
    ssize_t n = recv(3, &request, sizeof request, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof request)) _exit(0);  // EOF: the run ended
    const bool allowed = (request.domain == AF_INET || request.domain == AF_INET6) &&
                         (request.type == SOCK_STREAM || request.type == SOCK_DGRAM);
    int fd = allowed ? socket(request.domain, request.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
    send_answer(3, fd >= 0 ? 0 : allowed ? errno : EINVAL, fd);
    if (fd >= 0) close(fd);
  }
}

}  // namespace

NetnsAgent* NetnsAgent::current() { return current_agent; }

bool NetnsAgent::start(int sync_fd) {
  stop();
  // the first process's 'N' message: one byte and two descriptors (step 1b)
  char peek[2];
  ssize_t next;
  do next = recv(sync_fd, peek, sizeof peek, MSG_PEEK);
  while (next < 0 && errno == EINTR);
  if (next != 1 || peek[0] != 'N') {
    if (next >= 0) errno = next == 0 ? ECONNRESET : EPROTO;  // its error message stays queued
    return false;
  }
  char kind;
  int ns[2] = {-1, -1};
  size_t received = 0;
  if (receive_with_fds(sync_fd, &kind, 1, ns, 2, received) != 1 || received != 2) {
    for (size_t i = 0; i < received && i < 2; i++) close(ns[i]);
    errno = EPROTO;
    return false;
  }
  userns_fd_ = ns[0];
  netns_fd_ = ns[1];
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    int saved = errno;
    stop();
    errno = saved;
    return false;
  }
  const int monitor_pid = getpid();
  pid_t child = fork();
  if (child == 0) {
    close(pair[0]);
    agent_main(pair[1], userns_fd_, netns_fd_, monitor_pid);
  }
  int saved = errno;
  close(pair[1]);
  fd_ = pair[0];
  pid_ = child;
  if (child < 0) {
    stop();
    errno = saved;
    return false;
  }
  timeval timeout = {kAnswerTimeoutSeconds, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // ready: it joined both namespaces (EOF: it could not, and exited)
  int value = -1, unused = -1;
  size_t none = 0;
  ssize_t n = receive_with_fds(fd_, &value, sizeof value, &unused, 0, none);
  if (n != static_cast<ssize_t>(sizeof value) || value != 0) {
    saved = n < 0 ? errno : ECONNRESET;
    stop();
    errno = saved;
    return false;
  }
  current_agent = this;
  return true;
}

int NetnsAgent::make_socket(int domain, int type) {
  if (fd_ < 0) {
    errno = ENETUNREACH;
    return -1;
  }
  Request request = {domain, type};
  if (send(fd_, &request, sizeof request, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) return -1;
  int value = 0, fd = -1;
  size_t received = 0;
  ssize_t n = receive_with_fds(fd_, &value, sizeof value, &fd, 1, received);
  // one descriptor, and the socket asked for (a late answer to an earlier
  // request that timed out would be another's)
  int got_domain = -1, got_type = -1;
  socklen_t length = sizeof got_domain;
  if (received == 1 && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &got_domain, &length) == 0) {
    length = sizeof got_type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &got_type, &length);
  }
  if (n == static_cast<ssize_t>(sizeof value) && value == 0 && received == 1 && got_domain == domain && got_type == type)
    return fd;
  if (received >= 1) close(fd);  // (those past the first were closed on receipt)
  errno = n < 0 ? errno : n == 0 ? ECONNRESET : value != 0 ? value : EPROTO;
  return -1;
}

bool NetnsAgent::namespaces(int& userns_fd, int& netns_fd) const {
  userns_fd = userns_fd_ < 0 ? -1 : fcntl(userns_fd_, F_DUPFD_CLOEXEC, 0);
  netns_fd = netns_fd_ < 0 ? -1 : fcntl(netns_fd_, F_DUPFD_CLOEXEC, 0);
  if (userns_fd >= 0 && netns_fd >= 0) return true;
  int saved = userns_fd_ < 0 ? ENETUNREACH : errno;
  for (int fd : {userns_fd, netns_fd})
    if (fd >= 0) close(fd);
  errno = saved;
  return false;
}

void NetnsAgent::stop() {
  if (current_agent == this) current_agent = nullptr;
  for (int* fd : {&fd_, &userns_fd_, &netns_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (pid_ > 0) {
    kill(pid_, SIGKILL);  // it would exit at the EOF; this also ends one that cannot read it
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}
