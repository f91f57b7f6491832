// berth-exec's input: what Node decided, as plain values. Node writes it on the
// control socket (fd 3) as length-prefixed records (key_value_file.h) ending
// with the record `end` with an empty value (lib/container/exec-helper.ts);
// after that the same socket carries control messages (`resize`, `signal`) in
// the same form. The reader refuses an unknown key, a second value for a
// single key (all but arg, env, group, rlimit, cgroup-procs, lower, file-op), a value of
// the wrong kind and, for `exec`, a spec without pid, pid-start-time, arg, cwd,
// uid, gid, capabilities or no-new-privileges.
#pragma once
#include <string>
#include <vector>

#include "key_value_file.h"
#include "process_spec.h"

struct ExecSpec {
  std::string mode;  // "exec", "mount" or "userns-files"

  // exec: the container's first process, whose namespaces to enter
  int pid = 0;
  unsigned long long pid_start_time = 0;   // /proc/<pid>/stat field 22, against pid reuse
  std::vector<std::string> cgroup_procs;   // cgroup.procs files (host paths) to put the command in
  bool join_userns = false;                // the container has a user namespace: join it first
  // exec: the command (open_stdin: fd 0 is a stream from Node to copy to it)
  ProcessSpec process;

  // mount: an overlay in a private mount namespace
  std::vector<std::string> lower_dirs;     // top-most first
  std::string upper_dir, work_dir;         // empty: a read-only mount of the lower dirs
  bool userns = false;                     // rootless: in a user namespace of our own (userns_own.h), overlay with userxattr
  std::string target;                      // mount: the mount point; userns-files: the directory

  // userns-files: the operations (userns_file_ops.h)
  std::vector<std::string> file_ops;
};

// Reads records from `fd` until "end"; false with `error` filled on EOF or a
// bad record. What `buffer` holds after "end" is the start of the control messages.
bool exec_spec_read(int fd, KeyValueBuffer& buffer, ExecSpec& spec, std::string& error);
