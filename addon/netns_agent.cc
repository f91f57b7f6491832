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

namespace {

NetnsAgent* current_agent = nullptr;

// How long the monitor waits for an answer: the agent answers at once unless
// something is badly wrong (it was stopped), and the monitor must not hang.
const int kAnswerTimeoutSeconds = 2;

struct Request {
  char kind;  // 's': a socket, 'n': the namespaces
  int domain;
  int type;
};

// Sends `value` (an errno, 0 for success) with `count` descriptors.
void send_answer(int sock, int value, const int* fds, int count) {
  iovec data = {&value, sizeof value};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr message = {};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  if (count > 0) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(count * sizeof(int));
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(header), fds, count * sizeof(int));
  }
  sendmsg(sock, &message, MSG_NOSIGNAL);
}

// The agent's side, in the forked child: join, drop, serve until EOF.
[[noreturn]] void agent_main(int sock, int pidfd, int monitor_pid) {
  // 1. Nothing of the monitor's but the socket: not the control pipe (Node
  //    waits for its EOF), not the attached output, not the published ports.
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null_fd >= 0; fd++) dup2(null_fd, fd);
  if (dup3(sock, 3, O_CLOEXEC) < 0 || dup3(pidfd, 4, O_CLOEXEC) < 0) _exit(126);
  close_range(5, ~0U, 0);
  sock = 3;
  pidfd = 4;
  // 2. Join the container's user and network namespaces; only the network
  //    namespace when the container shares ours (setns refuses to enter
  //    one's own user namespace with EINVAL).
  if (setns(pidfd, CLONE_NEWUSER | CLONE_NEWNET) < 0 && (errno != EINVAL || setns(pidfd, CLONE_NEWNET) < 0)) _exit(125);
  close(pidfd);
  // 3. Die with the monitor (again: a credential change clears it), stay not
  //    dumpable, and keep no capability: making a TCP or UDP socket needs none.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor_pid) _exit(124);
  prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  if (syscall(SYS_capset, &header, none) < 0) _exit(123);
  // 4. Serve.
  for (;;) {
    Request request;
    ssize_t n = recv(sock, &request, sizeof request, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof request)) _exit(0);  // EOF: the run ended
    if (request.kind == 's') {
      const bool allowed = (request.domain == AF_INET || request.domain == AF_INET6) &&
                           (request.type == SOCK_STREAM || request.type == SOCK_DGRAM);
      int fd = allowed ? socket(request.domain, request.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
      if (fd < 0) {
        send_answer(sock, allowed ? errno : EINVAL, nullptr, 0);
        continue;
      }
      send_answer(sock, 0, &fd, 1);
      close(fd);
    } else if (request.kind == 'n') {
      int fds[2] = {open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC), open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};
      if (fds[0] < 0 || fds[1] < 0) send_answer(sock, errno, nullptr, 0);
      else send_answer(sock, 0, fds, 2);
      for (int fd : fds)
        if (fd >= 0) close(fd);
    } else {
      send_answer(sock, EINVAL, nullptr, 0);
    }
  }
}

}  // namespace

NetnsAgent* NetnsAgent::current() { return current_agent; }

bool NetnsAgent::start(int pid) {
  stop();
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return false;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    int saved = errno;
    close(pidfd);
    errno = saved;
    return false;
  }
  const int monitor_pid = getpid();
  pid_t child = fork();
  if (child == 0) {
    close(pair[0]);
    agent_main(pair[1], pidfd, monitor_pid);
  }
  int saved = errno;
  close(pair[1]);
  close(pidfd);
  if (child < 0) {
    close(pair[0]);
    errno = saved;
    return false;
  }
  fd_ = pair[0];
  pid_ = child;
  timeval timeout = {kAnswerTimeoutSeconds, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // The first answer proves it joined: a request it cannot answer means it exited.
  int userns_fd, netns_fd;
  if (!namespaces(userns_fd, netns_fd)) {
    saved = errno;
    stop();
    errno = saved;
    return false;
  }
  close(userns_fd);
  close(netns_fd);
  current_agent = this;
  return true;
}

bool NetnsAgent::request(char kind, int domain, int type, int* fds, int fd_count) {
  if (fd_ < 0) {
    errno = ENETUNREACH;
    return false;
  }
  Request request = {kind, domain, type};
  if (send(fd_, &request, sizeof request, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) return false;
  int value = 0;
  iovec data = {&value, sizeof value};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr message = {};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(fd_, &message, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  int received = 0;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const int count = static_cast<int>((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      if (received < fd_count) fds[received++] = fd;
      else close(fd);
    }
  }
  if (n == static_cast<ssize_t>(sizeof value) && value == 0 && received == fd_count) return true;
  for (int i = 0; i < received; i++) close(fds[i]);
  errno = n < 0 ? errno : n == 0 ? ECONNRESET : value != 0 ? value : EPROTO;
  return false;
}

int NetnsAgent::make_socket(int domain, int type) {
  int fd = -1;
  return request('s', domain, type, &fd, 1) ? fd : -1;
}

bool NetnsAgent::namespaces(int& userns_fd, int& netns_fd) {
  int fds[2] = {-1, -1};
  if (!request('n', 0, 0, fds, 2)) return false;
  userns_fd = fds[0];
  netns_fd = fds[1];
  return true;
}

void NetnsAgent::stop() {
  if (current_agent == this) current_agent = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (pid_ > 0) {
    kill(pid_, SIGKILL);  // it would exit at the EOF; this also ends one that cannot read it
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}
