// The process a spec runs, under the same keys in both specs: the container's
// first process (spec.h, the monitor's) and a command run in a running
// container (exec_spec.h, berth-exec's).
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "key_value_file.h"
#include "resource_limits.h"

struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  unsigned uid = 0;
  unsigned gid = 0;
  std::vector<gid_t> groups;
  unsigned long long capabilities = 0;  // bit mask of the kept set
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = true;
  std::string seccomp;                  // the precompiled filter (a BPF file); empty: none
  bool tty = false;
  bool open_stdin = false;              // the process reads the stdin it is given
  unsigned short tty_rows = 0, tty_cols = 0;
};

// The keys of ProcessSpec (arg, env, cwd, uid, gid, group, capabilities,
// rlimit, no-new-privileges, seccomp, tty, tty-rows, tty-cols, stdin), for a
// reader's KeyValueSchema: arg, env, group and rlimit may repeat; the others
// come at most once.
extern const KeyValueSchema::Table kProcessSpecKeys;

// Takes one record the schema accepted when `key` names a field of
// ProcessSpec: true when it does, with `error` filled when the value is bad.
// False for any other key.
bool process_spec_set(ProcessSpec& process, const std::string& key, const std::string& value, std::string& error);

// False with `error` filled when a key every process needs (a command, its
// working directory, user, group, capabilities, no-new-privileges) is missing.
bool process_spec_complete(const KeyValueSchema& schema, std::string& error);
