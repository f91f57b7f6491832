// berth-exec's input: what Node decided, as plain values. Node writes it on the
// control socket (fd 3) as NUL-separated "key\0value\0" pairs ending with the
// pair "end\0\0" (lib/container/exec-process.ts); after that the same socket
// carries control messages (`resize`, `signal`) in the same form.
#pragma once
#include <string>
#include <vector>

#include "key_value_file.h"
#include "process_spec.h"

struct ExecSpec {
  std::string mode;  // "exec" or "mount"

  // exec: the container's first process, whose namespaces to enter
  int pid = 0;
  unsigned long long pid_start_time = 0;   // /proc/<pid>/stat field 22, against pid reuse
  std::vector<std::string> cgroup_procs;   // cgroup.procs files (host paths) to put the command in
  // exec: the command (open_stdin: fd 0 is a stream from Node to copy to it)
  ProcessSpec process;

  // mount: an overlay in a private mount namespace
  std::vector<std::string> lower_dirs;     // top-most first
  std::string upper_dir, work_dir;         // empty: a read-only mount of the lower dirs
  std::string target;
};

// Reads pairs from `fd` until "end"; false with `error` filled on EOF or a bad
// pair. What `buffer` holds after "end" is the start of the control messages.
bool exec_spec_read(int fd, KeyValueBuffer& buffer, ExecSpec& spec, std::string& error);
