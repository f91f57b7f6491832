// Compiles a seccomp filter with libseccomp (what runc and crun use) and
// exports it as classic BPF, once per profile and capability set: Node
// resolves Docker's profile format into rules (lib/container/seccomp-profile.ts)
// and runs `berth-exec seccomp` with them on stdin; the program it writes on
// stdout is cached under the state root and loaded, as is, by every process
// that enters the container (seccomp_load.h). Lines of the input:
//
//   default <action> <value>                the action for every other call
//   arch <name>                             an architecture (x86_64, x86, x32, …)
//   rule <action> <value> <syscall> [<index> <op> <value> <valueTwo>]...
//
// <action>: allow, errno (value: the errno), kill_thread, kill_process, trap,
// trace (value: the tracer's), log. <op>: ne, lt, le, eq, ge, gt, masked_eq
// (value: the mask, valueTwo: the result). A system call libseccomp does not
// know is skipped, as in runc and crun.
//
// Newer system calls: unless the default action is allow or log, a call whose
// number lies above every number libseccomp knows for its architecture gets
// ENOSYS rather than the default action (runc's stub, in front of
// libseccomp's program): programs probe new calls and fall back on ENOSYS
// (glibc's fchmodat2, statmount…), and would fail on EPERM.
#pragma once
#include <string>

// Compiles `rules` and writes the BPF program to `out_fd`. Returns 0, or -1
// with `error` saying which line or which libseccomp call failed.
int seccomp_compile(const std::string& rules, int out_fd, std::string& error);
