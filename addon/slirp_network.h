// Network mode slirp4netns: outbound access without touching the host's
// network, for rootless containers (and root's, when asked). The container
// gets its own network namespace; at sync 1 of every run the monitor starts
//
//   slirp4netns --configure --mtu=65520 [--disable-host-loopback]
//     --enable-sandbox --enable-seccomp --ready-fd=3 --exit-fd=4
//     [--userns-path=/proc/self/fd/5] --netns-type=path /proc/self/fd/6 tap0
//
// which makes tap0 (10.0.2.100/24, default route via 10.0.2.2, DNS forwarder
// at 10.0.2.3) in the namespace and carries its traffic through ordinary
// sockets of the monitor's namespace. The namespaces are passed as inherited
// descriptors (the monitor's own open of /proc/<pid>/ns/net, or the netns
// agent's for a container with its own user namespace), because an
// unprivileged slirp4netns may not open /proc/<pid>/ns/* of the container's
// first process, which is not dumpable until its execve.
//
// The monitor waits for the ready byte (with a deadline) before it sends 'G',
// so the container's command starts with its network up. slirp4netns ends
// with the run: the monitor holds the write end of its exit pipe and closes
// it when the run ends, or the kernel does when the monitor dies (and it has
// PR_SET_PDEATHSIG(SIGKILL) besides); either way it sees the hang-up and
// exits. No slirp4netns outlives its container's run.
#pragma once
#include <string>

#include "netns_agent.h"
#include "spec.h"

class Slirp4netns {
 public:
  // Starts slirp4netns for the network namespace of `pid` (through `agent`
  // when it runs: then the container's user namespace too) and waits until
  // it is ready. Nothing to do unless the spec's mode is slirp4netns. False
  // with errno set and what failed (slirp4netns's own message when it
  // printed one) in `failed`; nothing is left running then.
  bool start(const Spec& spec, int pid, NetnsAgent& agent, std::string& failed);
  // Ends it (the exit pipe) and reaps it.
  void stop();
  ~Slirp4netns() { stop(); }

 private:
  int pid_ = -1;
  int exit_fd_ = -1;  // the write end of its exit pipe
};
