// Who a process is and what it may do, set on its way to execve: in the
// container's first process (container_setup.cc) and in a command run in a
// running container (exec_main.cc). Three steps around the change of user:
//   credentials_limit_capabilities  everything outside the kept set leaves the
//                                   bounding set; no ambient capabilities; the
//                                   permitted set survives setuid
//   credentials_set_user            groups, gid, uid
//   credentials_set_capabilities    effective = permitted = the kept set,
//                                   inheritable empty
// They allocate nothing. Each returns 0, or -1 with errno set, the system call
// that failed in *failed_syscall and what it was about in *failed_path (or
// nullptr), for the caller's error report.
#pragma once
#include <sys/types.h>
#include <vector>

// /proc/sys/kernel/cap_last_cap, or 40 when it cannot be read. Read before
// fork or clone: the child may no longer see the host's /proc.
int credentials_last_capability();

// PR_CAPBSET_DROP for every capability up to `last_capability` outside `keep`,
// PR_CAP_AMBIENT_CLEAR_ALL, PR_SET_KEEPCAPS 1.
int credentials_limit_capabilities(unsigned long long keep, int last_capability, const char** failed_syscall,
                                   const char** failed_path);

// setgroups, setresgid, setresuid.
int credentials_set_user(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const char** failed_syscall,
                         const char** failed_path);

// capset with `keep` as the effective and permitted sets, then PR_SET_KEEPCAPS 0.
int credentials_set_capabilities(unsigned long long keep, const char** failed_syscall, const char** failed_path);
