#include "exec_spec.h"

#include <cstdlib>

bool exec_spec_read(int fd, KeyValueBuffer& buffer, ExecSpec& spec, std::string& error) {
  std::string key, value;
  for (;;) {
    while (!key_value_next(buffer, key, value)) {
      if (key_value_fill(fd, buffer) <= 0) {
        error = "spec: the control socket closed before \"end\"";
        return false;
      }
    }
    if (key == "end") break;
    if (process_spec_set(spec.process, key, value, error)) {
      if (!error.empty()) return false;
    }
    else if (key == "mode") spec.mode = value;
    else if (key == "pid") spec.pid = atoi(value.c_str());
    else if (key == "pid-start-time") spec.pid_start_time = key_value_number(value);
    else if (key == "cgroup-procs") spec.cgroup_procs.push_back(value);
    else if (key == "lower") spec.lower_dirs.push_back(value);
    else if (key == "upper") spec.upper_dir = value;
    else if (key == "work") spec.work_dir = value;
    else if (key == "target") spec.target = value;
    else { error = "spec: unknown key `" + key + "`"; return false; }
  }
  if (spec.mode == "exec") {
    if (spec.process.args.empty()) { error = "spec: no command"; return false; }
    if (spec.pid <= 0) { error = "spec: no container pid"; return false; }
  } else if (spec.mode == "mount") {
    if (spec.lower_dirs.empty() || spec.target.empty()) { error = "spec: mount needs lower dirs and a target"; return false; }
    if (spec.upper_dir.empty() != spec.work_dir.empty()) { error = "spec: upper and work go together"; return false; }
  } else {
    error = "spec: mode must be exec or mount";
    return false;
  }
  return true;
}
