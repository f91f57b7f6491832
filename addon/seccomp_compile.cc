#include "seccomp_compile.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sstream>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>
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

// The highest system call number libseccomp knows on `arch`.
int highest_known_syscall(uint32_t arch) {
  int highest = -1;
  for (int number = 0; number < 8192; number++) {
    char* name = seccomp_syscall_resolve_num_arch(arch, number);
    if (!name) continue;
    highest = number;
    free(name);
  }
  return highest;
}

// For each architecture: numbers above the highest known one (and below the
// x32 range) return ENOSYS; everything else falls through to libseccomp's
// program, which begins by loading the architecture itself.
std::vector<sock_filter> enosys_stub(const std::vector<uint32_t>& arches) {
  std::vector<sock_filter> stub;
  for (uint32_t arch : arches) {
    if (arch == SCMP_ARCH_X32 || arch == SCMP_ARCH_MIPS64N32 || arch == SCMP_ARCH_MIPSEL64N32) continue;  // share an audit arch
    int highest = highest_known_syscall(arch);
    if (highest < 0) continue;
    const sock_filter block[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 4),  // another architecture: the next block
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 2, 0),  // x32's numbers: libseccomp's business
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(highest), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    };
    stub.insert(stub.end(), block, block + sizeof block / sizeof block[0]);
  }
  return stub;
}

// Writes `stub` and then libseccomp's program for `filter` to `out_fd`.
int export_with_stub(scmp_filter_ctx filter, const std::vector<sock_filter>& stub, int out_fd, std::string& error) {
  int memory = memfd_create("seccomp", MFD_CLOEXEC);
  if (memory < 0) {
    error = std::string("memfd_create: ") + strerror(errno);
    return -1;
  }
  int result = seccomp_export_bpf(filter, memory);
  if (result < 0) {
    close(memory);
    error = libseccomp_error("seccomp_export_bpf", result);
    return -1;
  }
  std::string program(reinterpret_cast<const char*>(stub.data()), stub.size() * sizeof(sock_filter));
  char buf[65536];
  ssize_t n;
  lseek(memory, 0, SEEK_SET);
  while ((n = read(memory, buf, sizeof buf)) > 0) program.append(buf, static_cast<size_t>(n));
  close(memory);
  if (n < 0 || program.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    error = n < 0 ? std::string("read: ") + strerror(errno) : "the program is longer than BPF_MAXINSNS";
    return -1;
  }
  for (size_t done = 0; done < program.size();) {
    ssize_t w = write(out_fd, program.data() + done, program.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      error = std::string("write: ") + strerror(errno);
      return -1;
    }
    done += static_cast<size_t>(w);
  }
  return 0;
}

}  // namespace

int seccomp_compile(const std::string& rules, int out_fd, std::string& error) {
  std::istringstream input(rules);
  std::string line;
  scmp_filter_ctx filter = nullptr;
  bool stub_newer_calls = false;              // the default action is not allow or log
  std::vector<uint32_t> arches = {seccomp_arch_native()};
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
      stub_newer_calls = action != SCMP_ACT_ALLOW && action != SCMP_ACT_LOG;
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
      if (result == -EEXIST) continue;
      if (result < 0) return failed("seccomp_arch_add", result);
      arches.push_back(arch);
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
  int result = export_with_stub(filter, stub_newer_calls ? enosys_stub(arches) : std::vector<sock_filter>(), out_fd, error);
  seccomp_release(filter);
  return result;
}
