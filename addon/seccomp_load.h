// Loads a precompiled seccomp filter (classic BPF, from seccomp_compile.h via
// Node's cache) into the calling process: the container's first process
// (container_setup.cc) and every command berth-exec runs (exec_main.cc).
// The file is read before clone/fork; loading allocates nothing.
//
// Ordering, as in runc: with no_new_privs set, the filter is the last step
// before execve. Without it, the kernel lets only a process with
// CAP_SYS_ADMIN install a filter, so the filter goes in before capabilities
// are dropped, and the remaining setup calls (prctl, setgroups, setresuid,
// capset, chdir, close_range, execve) pass through it.
#pragma once
#include <string>

// Reads the BPF program at `path` into `program`: a whole number of 8-byte
// instructions, at most BPF_MAXINSNS. Returns 0, or -1 with errno set
// (EINVAL for a file that is not such a program).
int seccomp_program_read(const std::string& path, std::string& program);

// Installs `program` as a filter of the calling thread (seccomp(2), or
// prctl(PR_SET_SECCOMP) before Linux 3.17). Returns 0, or -1 with errno set.
int seccomp_program_load(const std::string& program);
