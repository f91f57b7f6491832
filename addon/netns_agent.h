// The netns agent: a tiny process per run of a container that has its own
// user namespace, living in that container's user and network namespaces and
// making sockets there for the monitor.
//
// Why: a socket stays in the network namespace it was made in, and the
// monitor makes its upstream sockets (published ports, the embedded DNS
// server) by setns() into the container's network namespace and back
// (netns_socket.h). setns(CLONE_NEWNET) needs CAP_SYS_ADMIN both in the user
// namespace that owns the target and in the caller's own: an unprivileged
// (rootless) monitor has the first for a container's user namespace it
// created, never the second. Joining the user namespace itself instead is
// one-way (and refused to a process that later needs to be itself again).
// So a forked child joins it for good: it enters the container's user and
// network namespaces through a pidfd of the container's first process
// (setns(pidfd, CLONE_NEWUSER | CLONE_NEWNET): no ptrace access check,
// which the first process, not dumpable until its execve, would refuse an
// unprivileged caller through /proc/<pid>/ns/*), drops every capability,
// and answers requests on a SOCK_SEQPACKET socketpair:
//
//   's' {domain, type}  → {0} + the socket (SCM_RIGHTS), or {errno}
//   'n'                 → {0} + its user and network namespaces as two
//                          descriptors (opened in /proc/self/ns: its own)
//
// It exits at EOF on the socket (the monitor ended the run, or exited) and
// has PR_SET_PDEATHSIG(SIGKILL): no agent outlives its monitor. It is not
// dumpable and its pid is outside the container's pid namespace, so the
// container can neither trace nor name it. A new agent is made for every
// run (restart policies): each run has new namespaces.
#pragma once

class NetnsAgent {
 public:
  // Forks the agent into the namespaces of `pid` (a child of ours that has
  // not been reaped). When `pid` shares our user namespace the agent joins
  // only its network namespace. False with errno set.
  bool start(int pid);
  bool running() const { return fd_ >= 0; }
  // A non-blocking, close-on-exec socket made in the container's network
  // namespace. -1 with errno set.
  int make_socket(int domain, int type);
  // The container's user and network namespaces as descriptors (close-on-exec;
  // the caller closes them). False with errno set.
  bool namespaces(int& userns_fd, int& netns_fd);
  // Ends the agent (EOF on its socket) and reaps it.
  void stop();
  ~NetnsAgent() { stop(); }

  // The agent of the current run, if any: netns_socket() asks it first.
  static NetnsAgent* current();

 private:
  bool request(char kind, int domain, int type, int* fds, int fd_count);
  int fd_ = -1;
  int pid_ = -1;
};
