#include "exec_spec.h"

#include <cstdint>

namespace {

// berth-exec's keys besides the process's (process_spec.cc).
const KeyValueKey kExecSpecKeys[] = {
    {"mode", KeyValueKind::kText},
    {"pid", KeyValueKind::kNumber, false, 0x3fffffff},  // PID_MAX_LIMIT
    {"pid-start-time", KeyValueKind::kNumber},
    {"cgroup-procs", KeyValueKind::kPath, true},
    {"join-userns", KeyValueKind::kFlag},
    {"lower", KeyValueKind::kPath, true},
    {"upper", KeyValueKind::kPath},
    {"work", KeyValueKind::kPath},
    {"target", KeyValueKind::kPath},
    {"file-op", KeyValueKind::kText, true},
    {"userns", KeyValueKind::kFlag},
};

}  // namespace

bool exec_spec_read(int fd, KeyValueBuffer& buffer, ExecSpec& spec, std::string& error) {
  KeyValueSchema schema({kProcessSpecKeys, KeyValueSchema::table(kExecSpecKeys)});
  std::string key, value;
  for (;;) {
    if (!key_value_next_from(fd, buffer, key, value, error, SIZE_MAX)) return false;
    if (key == "end") {
      if (!value.empty()) { error = "spec: `end` takes no value"; return false; }
      break;
    }
    if (!schema.accept(key, value, error)) return false;
    if (process_spec_set(spec.process, key, value, error)) {
      if (!error.empty()) return false;
    }
    else if (key == "mode") spec.mode = value;
    else if (key == "pid") spec.pid = static_cast<int>(key_value_number(value));
    else if (key == "pid-start-time") spec.pid_start_time = key_value_number(value);
    else if (key == "cgroup-procs") spec.cgroup_procs.push_back(value);
    else if (key == "join-userns") spec.join_userns = value == "1";
    else if (key == "lower") spec.lower_dirs.push_back(value);
    else if (key == "upper") spec.upper_dir = value;
    else if (key == "work") spec.work_dir = value;
    else if (key == "target") spec.target = value;
    else if (key == "file-op") spec.file_ops.push_back(value);
    else if (key == "userns") spec.userns = value == "1";
    else { error = "spec: unknown key `" + key + "`"; return false; }
  }
  if (spec.mode == "exec") {
    if (!process_spec_complete(schema, error) || !schema.require({"pid", "pid-start-time"}, error)) return false;
    if (spec.pid <= 0) { error = "spec: no container pid"; return false; }
  } else if (spec.mode == "mount") {
    if (!schema.require({"lower", "target"}, error)) return false;
    if (spec.upper_dir.empty() != spec.work_dir.empty()) { error = "spec: upper and work go together"; return false; }
  } else if (spec.mode == "userns-files") {
    if (!schema.require({"target", "file-op"}, error)) return false;
  } else {
    error = "spec: mode must be exec, mount or userns-files";
    return false;
  }
  return true;
}
