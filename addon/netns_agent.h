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
// So a forked child joins it for good. The child cannot be joined through
// /proc/<pid>/ns/* or a pidfd by an unprivileged monitor (both check ptrace
// access, and the first process is not dumpable until its execve), so the
// first process itself sends its user and network namespaces (container
// setup step 1b, an 'N' message with two descriptors on the sync socket);
// the agent setns() into them, drops every capability, and answers requests
// on a SOCK_SEQPACKET socketpair:
//
//   {domain, type}  → {0} + the socket (SCM_RIGHTS), or {errno}
//
// (TCP and UDP over IPv4 or IPv6 only). It exits at EOF on the socket (the
// monitor ended the run, or exited) and has PR_SET_PDEATHSIG(SIGKILL): no
// agent outlives its monitor. It is not dumpable and its pid is outside the
// container's pid namespace, so the container can neither trace nor name it.
// A new agent is made for every run (restart policies): each run has new
// namespaces.
#pragma once

class NetnsAgent {
 public:
  // Receives the first process's namespaces (the next message on `sync_fd`
  // must be its 'N'; anything else is left unread, for the caller to report)
  // and forks the agent into them. When the container shares our user
  // namespace the agent joins only the network namespace. False with errno set.
  bool start(int sync_fd);
  bool running() const { return fd_ >= 0; }
  // A non-blocking, close-on-exec socket made in the container's network
  // namespace. -1 with errno set.
  int make_socket(int domain, int type);
  // Copies of the container's user and network namespace descriptors
  // (close-on-exec; the caller closes them). False with errno set.
  bool namespaces(int& userns_fd, int& netns_fd) const;
  // Ends the agent (EOF on its socket) and reaps it.
  void stop();
  ~NetnsAgent() { stop(); }

  // The agent of the current run, if any: netns_socket() asks it first.
  static NetnsAgent* current();

 private:
  int fd_ = -1;
  int pid_ = -1;
  int userns_fd_ = -1, netns_fd_ = -1;
};
