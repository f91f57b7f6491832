#include "process_spec.h"

namespace {

constexpr unsigned long long kMaxId = 0xfffffffeULL;  // (uid_t)-1 means "no change"

const KeyValueKey kKeys[] = {
    {"arg", KeyValueKind::kText, true},
    {"env", KeyValueKind::kText, true},
    {"cwd", KeyValueKind::kPath},
    {"uid", KeyValueKind::kNumber, false, kMaxId},
    {"gid", KeyValueKind::kNumber, false, kMaxId},
    {"group", KeyValueKind::kNumber, true, kMaxId},
    {"capabilities", KeyValueKind::kNumber},
    {"rlimit", KeyValueKind::kText, true},
    {"no-new-privileges", KeyValueKind::kFlag},
    {"seccomp", KeyValueKind::kPath},
    {"tty", KeyValueKind::kFlag},
    {"tty-rows", KeyValueKind::kNumber, false, 65535},
    {"tty-cols", KeyValueKind::kNumber, false, 65535},
    {"stdin", KeyValueKind::kFlag},
};

}  // namespace

const KeyValueSchema::Table kProcessSpecKeys = KeyValueSchema::table(kKeys);

bool process_spec_set(ProcessSpec& process, const std::string& key, const std::string& value, std::string& error) {
  if (key == "arg") process.args.push_back(value);
  else if (key == "env") process.env.push_back(value);
  else if (key == "cwd") process.cwd = value;
  else if (key == "uid") process.uid = static_cast<unsigned>(key_value_number(value));
  else if (key == "gid") process.gid = static_cast<unsigned>(key_value_number(value));
  else if (key == "group") process.groups.push_back(static_cast<gid_t>(key_value_number(value)));
  else if (key == "capabilities") process.capabilities = key_value_number(value);
  else if (key == "no-new-privileges") process.no_new_privileges = value == "1";
  else if (key == "seccomp") process.seccomp = value;
  else if (key == "tty") process.tty = value == "1";
  else if (key == "tty-rows") process.tty_rows = static_cast<unsigned short>(key_value_number(value));
  else if (key == "tty-cols") process.tty_cols = static_cast<unsigned short>(key_value_number(value));
  else if (key == "stdin") process.open_stdin = value == "1";
  else if (key == "rlimit") {
    Rlimit r;
    if (rlimit_parse(value, r)) process.rlimits.push_back(r);
    else error = "spec: bad rlimit `" + value + "`";
  } else return false;
  return true;
}

bool process_spec_complete(const KeyValueSchema& schema, std::string& error) {
  return schema.require({"arg", "cwd", "uid", "gid", "capabilities", "no-new-privileges"}, error);
}
