#include "exec_spec.h"

#include <cerrno>
#include <cstdlib>
#include <unistd.h>

namespace {

unsigned long long number(const std::string& s) { return strtoull(s.c_str(), nullptr, 10); }

bool parse_rlimit(const std::string& v, ExecRlimit& r) {
  // "resource:soft:hard"; "-1" is unlimited
  size_t a = v.find(':'), b = v.rfind(':');
  if (a == std::string::npos || a == b) return false;
  r.resource = atoi(v.substr(0, a).c_str());
  std::string soft = v.substr(a + 1, b - a - 1), hard = v.substr(b + 1);
  r.soft = soft == "-1" ? RLIM_INFINITY : number(soft);
  r.hard = hard == "-1" ? RLIM_INFINITY : number(hard);
  return true;
}

}  // namespace

bool control_fill(int fd, ControlBuffer& buffer) {
  char chunk[16384];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.data.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

bool control_next_pair(ControlBuffer& buffer, std::string& key, std::string& value) {
  size_t k_end = buffer.data.find('\0');
  if (k_end == std::string::npos) return false;
  size_t v_end = buffer.data.find('\0', k_end + 1);
  if (v_end == std::string::npos) return false;
  key.assign(buffer.data, 0, k_end);
  value.assign(buffer.data, k_end + 1, v_end - k_end - 1);
  buffer.data.erase(0, v_end + 1);
  return true;
}

bool exec_spec_read(int fd, ControlBuffer& buffer, ExecSpec& spec, std::string& error) {
  std::string key, value;
  for (;;) {
    while (!control_next_pair(buffer, key, value)) {
      if (!control_fill(fd, buffer)) {
        error = "spec: the control socket closed before \"end\"";
        return false;
      }
    }
    if (key == "end") break;
    if (key == "mode") spec.mode = value;
    else if (key == "pid") spec.pid = atoi(value.c_str());
    else if (key == "pid-start-time") spec.pid_start_time = number(value);
    else if (key == "cgroup-procs") spec.cgroup_procs.push_back(value);
    else if (key == "arg") spec.args.push_back(value);
    else if (key == "env") spec.env.push_back(value);
    else if (key == "cwd") spec.cwd = value;
    else if (key == "uid") spec.uid = static_cast<unsigned>(number(value));
    else if (key == "gid") spec.gid = static_cast<unsigned>(number(value));
    else if (key == "group") spec.groups.push_back(static_cast<gid_t>(number(value)));
    else if (key == "capabilities") spec.capabilities = number(value);
    else if (key == "no-new-privileges") spec.no_new_privileges = value == "1";
    else if (key == "tty") spec.tty = value == "1";
    else if (key == "stdin") spec.open_stdin = value == "1";
    else if (key == "tty-rows") spec.tty_rows = static_cast<unsigned short>(number(value));
    else if (key == "tty-cols") spec.tty_cols = static_cast<unsigned short>(number(value));
    else if (key == "lower") spec.lower_dirs.push_back(value);
    else if (key == "upper") spec.upper_dir = value;
    else if (key == "work") spec.work_dir = value;
    else if (key == "target") spec.target = value;
    else if (key == "rlimit") {
      ExecRlimit r;
      if (!parse_rlimit(value, r)) { error = "spec: bad rlimit `" + value + "`"; return false; }
      spec.rlimits.push_back(r);
    } else { error = "spec: unknown key `" + key + "`"; return false; }
  }
  if (spec.mode == "exec") {
    if (spec.args.empty()) { error = "spec: no command"; return false; }
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
