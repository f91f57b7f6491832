#include "seccomp_compile.h"

#include <cerrno>
#include <cstring>
#include <seccomp.h>
#include <sstream>
#include <vector>

namespace {

// An action word and its value as libseccomp's action, or false.
bool parse_action(const std::string& word, unsigned long value, uint32_t& action) {
  if (word == "allow") action = SCMP_ACT_ALLOW;
  else if (word == "errno" && value <= 4095) action = SCMP_ACT_ERRNO(static_cast<uint32_t>(value));
  else if (word == "kill_thread") action = SCMP_ACT_KILL;
  else if (word == "kill_process") action = SCMP_ACT_KILL_PROCESS;
  else if (word == "trap") action = SCMP_ACT_TRAP;
  else if (word == "trace" && value <= 65535) action = SCMP_ACT_TRACE(static_cast<uint32_t>(value));
  else if (word == "log") action = SCMP_ACT_LOG;
  else return false;
  return true;
}

bool parse_operator(const std::string& word, scmp_compare& op) {
  static const struct { const char* name; scmp_compare op; } known[] = {
      {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT}, {"le", SCMP_CMP_LE}, {"eq", SCMP_CMP_EQ},
      {"ge", SCMP_CMP_GE}, {"gt", SCMP_CMP_GT}, {"masked_eq", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& k : known) {
    if (word == k.name) {
      op = k.op;
      return true;
    }
  }
  return false;
}

// The libseccomp call that failed, with its (negative errno) result.
std::string libseccomp_error(const char* call, int result) {
  return std::string(call) + ": " + strerror(-result);
}

}  // namespace

int seccomp_compile(const std::string& rules, int out_fd, std::string& error) {
  std::istringstream input(rules);
  std::string line;
  scmp_filter_ctx filter = nullptr;
  int line_number = 0;
  auto bad_line = [&](const char* what) {
    error = "line " + std::to_string(line_number) + ": " + what + ": `" + line + "`";
    if (filter) seccomp_release(filter);
    return -1;
  };
  auto failed = [&](const char* call, int result) {
    error = "line " + std::to_string(line_number) + ": " + libseccomp_error(call, result);
    seccomp_release(filter);
    return -1;
  };
  while (std::getline(input, line)) {
    line_number++;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "default") {
      std::string action_word;
      unsigned long value = 0;
      uint32_t action;
      if (filter || !(words >> action_word >> value) || !parse_action(action_word, value, action))
        return bad_line("a bad default action");
      filter = seccomp_init(action);
      if (!filter) return bad_line("seccomp_init failed");
      // The program is only exported: no_new_privs is the loader's business.
      int result = seccomp_attr_set(filter, SCMP_FLTATR_CTL_NNP, 0);
      if (result < 0) return failed("seccomp_attr_set", result);
      // A binary tree of system calls rather than a list: ~400 names.
      seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    } else if (!filter) {
      return bad_line("the first line must be `default`");
    } else if (kind == "arch") {
      std::string name;
      words >> name;
      uint32_t arch = seccomp_arch_resolve_name(name.c_str());
      if (arch == 0) return bad_line("an architecture libseccomp does not know");
      int result = seccomp_arch_add(filter, arch);
      if (result < 0 && result != -EEXIST) return failed("seccomp_arch_add", result);
    } else if (kind == "rule") {
      std::string action_word, name;
      unsigned long value = 0;
      uint32_t action;
      if (!(words >> action_word >> value >> name) || !parse_action(action_word, value, action))
        return bad_line("a bad rule");
      std::vector<scmp_arg_cmp> args;
      unsigned index;
      std::string op_word;
      unsigned long long datum_a, datum_b;
      while (words >> index >> op_word >> datum_a >> datum_b) {
        scmp_compare op;
        if (index > 5 || !parse_operator(op_word, op) || args.size() == 6) return bad_line("a bad argument condition");
        args.push_back({index, op, datum_a, datum_b});
      }
      if (!words.eof()) return bad_line("a bad argument condition");
      int number = seccomp_syscall_resolve_name(name.c_str());
      if (number == __NR_SCMP_ERROR) continue;  // not known to libseccomp: skipped, as runc does
      int result = seccomp_rule_add_array(filter, action, number, static_cast<unsigned>(args.size()), args.data());
      if (result < 0) return failed("seccomp_rule_add", result);
    } else if (!kind.empty()) {
      return bad_line("an unknown line");
    }
  }
  if (!filter) {
    error = "no `default` line";
    return -1;
  }
  int result = seccomp_export_bpf(filter, out_fd);
  if (result < 0) return failed("seccomp_export_bpf", result);
  seccomp_release(filter);
  return 0;
}
