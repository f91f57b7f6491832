// berth-exec's input: what Node decided, as plain values. Node writes it on the
// control socket (fd 3) as NUL-separated "key\0value\0" pairs ending with the
// pair "end\0\0" (lib/container/exec-process.ts); after that the same socket
// carries control messages (`resize`, `signal`) in the same form.
#pragma once
#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

struct ExecRlimit {
  int resource;
  rlim_t soft;
  rlim_t hard;
};

struct ExecSpec {
  std::string mode;  // "exec" or "mount"

  // exec: the container's first process, whose namespaces to enter
  int pid = 0;
  unsigned long long pid_start_time = 0;   // /proc/<pid>/stat field 22, against pid reuse
  std::vector<std::string> cgroup_procs;   // cgroup.procs files (host paths) to put the command in
  // exec: the command
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  unsigned uid = 0;
  unsigned gid = 0;
  std::vector<gid_t> groups;
  unsigned long long capabilities = 0;     // bit mask of the kept set
  std::vector<ExecRlimit> rlimits;
  bool no_new_privileges = true;
  bool tty = false;
  bool open_stdin = false;                 // fd 0 is a stream from Node to copy to the command
  unsigned short tty_rows = 0, tty_cols = 0;

  // mount: an overlay in a private mount namespace
  std::vector<std::string> lower_dirs;     // top-most first
  std::string upper_dir, work_dir;         // empty: a read-only mount of the lower dirs
  std::string target;
};

// Bytes read from the control socket that do not yet form a whole pair.
struct ControlBuffer {
  std::string data;
};

// One read(2) from `fd` into `buffer`; false on EOF or error.
bool control_fill(int fd, ControlBuffer& buffer);

// Takes the next whole "key\0value\0" pair out of `buffer`; false when there is none yet.
bool control_next_pair(ControlBuffer& buffer, std::string& key, std::string& value);

// Reads pairs from `fd` until "end"; false with `error` filled on EOF or a bad pair.
bool exec_spec_read(int fd, ControlBuffer& buffer, ExecSpec& spec, std::string& error);
