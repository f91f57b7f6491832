// The container's first process, from clone() to execve(), in one file:
// container_setup.cc. Everything it needs is prepared here, before clone, so
// the child side allocates nothing.
#pragma once
#include <string>
#include <vector>

#include "cgroup_place.h"
#include "exec_path.h"
#include "spec.h"

struct ChildPlan {
  const Spec* spec = nullptr;
  std::string overlay_options;     // "lowerdir=…,upperdir=…,workdir=…"
  ExecCommand command;             // argv, envp and PATH, pointing into spec
  int sync_fd = -1;                // SOCK_SEQPACKET to the monitor
  int join_netns_fd = -1;          // network mode container: the netns to join
  bool send_namespaces = false;    // netns agent (netns_agent.h): send our user and network namespaces at step 1
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // unused with spec->process.tty
  int last_capability = 40;        // /proc/sys/kernel/cap_last_cap
  std::string seccomp_program;     // the filter's BPF, read from spec->process.seccomp
  int seccomp_read_errno = 0;      // why it could not be read (the child reports it at step seccomp)
  // In a user namespace (spec->userns()): with map-with write the monitor
  // mounts the rootfs and clones the bind mounts' sources (userns_setup.h);
  // their descriptors arrive at step "userns": the rootfs, then one per bind
  // mount in spec order. Sized before clone.
  bool rootfs_from_monitor = false;
  bool sysfs_from_monitor = false;  // network container: with map-with write: its sysfs, made in its netns, last
  mutable std::vector<int> passed_fds;
  CgroupJoin cgroup_join;          // v1: the `tasks` files the child joins its cgroups through
};

// Fills `plan` from `spec`; runs in the monitor before clone.
void child_plan_prepare(ChildPlan& plan, const Spec& spec);

// Runs in the cloned child: sets the container up and execs its command.
// Never returns: on failure it sends a SetupError on plan.sync_fd and exits 127.
[[noreturn]] void container_setup_and_exec(const ChildPlan& plan);
