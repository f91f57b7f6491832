#include "process_spec.h"

#include "key_value_file.h"

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
