#include "device_filter.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

bpf_insn instruction(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm) {
  bpf_insn insn = {};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

// Registers: r1 the context; r2 device type; r3 requested access; r4 major; r5 minor; r6 scratch.
const __u8 kLoadWord = BPF_LDX | BPF_W | BPF_MEM;
const __u8 kAndImm = BPF_ALU64 | BPF_AND | BPF_K;
const __u8 kShiftRightImm = BPF_ALU64 | BPF_RSH | BPF_K;
const __u8 kMoveReg = BPF_ALU64 | BPF_MOV | BPF_X;
const __u8 kMoveImm = BPF_ALU64 | BPF_MOV | BPF_K;
const __u8 kJumpNotEqualImm = BPF_JMP | BPF_JNE | BPF_K;
const __u8 kJumpNotEqualReg = BPF_JMP | BPF_JNE | BPF_X;
const __u8 kExit = BPF_JMP | BPF_EXIT;

// One rule: a block of checks that jumps past itself on a mismatch and
// returns 1 (allow) when everything matches.
void append_rule(std::vector<bpf_insn>& program, const DeviceRule& rule) {
  std::vector<bpf_insn> checks;
  int device_type = rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : rule.type == 'b' ? BPF_DEVCG_DEV_BLOCK : 0;
  if (device_type) checks.push_back(instruction(kJumpNotEqualImm, 2, 0, 0, device_type));
  if ((rule.access & 7) != 7) {
    // every requested access bit must be allowed: (requested & allowed) == requested
    checks.push_back(instruction(kMoveReg, 6, 3, 0, 0));
    checks.push_back(instruction(kAndImm, 6, 0, 0, static_cast<__s32>(rule.access)));
    checks.push_back(instruction(kJumpNotEqualReg, 6, 3, 0, 0));
  }
  if (rule.major >= 0) checks.push_back(instruction(kJumpNotEqualImm, 4, 0, 0, static_cast<__s32>(rule.major)));
  if (rule.minor >= 0) checks.push_back(instruction(kJumpNotEqualImm, 5, 0, 0, static_cast<__s32>(rule.minor)));
  checks.push_back(instruction(kMoveImm, 0, 0, 0, 1));
  checks.push_back(instruction(kExit, 0, 0, 0, 0));
  // a failed check jumps to the first instruction after this block
  for (size_t i = 0; i < checks.size(); i++) {
    if (checks[i].code == kJumpNotEqualImm || checks[i].code == kJumpNotEqualReg) {
      checks[i].off = static_cast<__s16>(checks.size() - i - 1);
    }
  }
  program.insert(program.end(), checks.begin(), checks.end());
}

long bpf(int command, bpf_attr& attr) { return syscall(SYS_bpf, command, &attr, sizeof attr); }

}  // namespace

int device_filter_attach(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules, const char*& syscall_name) {
  std::vector<bpf_insn> program = {
      instruction(kLoadWord, 2, 1, 0, 0),  // access_type = (access << 16) | type
      instruction(kAndImm, 2, 0, 0, 0xffff),
      instruction(kLoadWord, 3, 1, 0, 0),
      instruction(kShiftRightImm, 3, 0, 0, 16),
      instruction(kLoadWord, 4, 1, 4, 0),  // major
      instruction(kLoadWord, 5, 1, 8, 0),  // minor
  };
  for (const auto& rule : rules) append_rule(program, rule);
  program.push_back(instruction(kMoveImm, 0, 0, 0, 0));  // nothing matched: deny
  program.push_back(instruction(kExit, 0, 0, 0, 0));

  static const char license[] = "Apache-2.0";
  bpf_attr load = {};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<__u64>(program.data());
  load.insn_cnt = static_cast<__u32>(program.size());
  load.license = reinterpret_cast<__u64>(license);
  int prog = static_cast<int>(bpf(BPF_PROG_LOAD, load));
  if (prog < 0) {
    syscall_name = "bpf(BPF_PROG_LOAD)";
    return -1;
  }
  int cgroup = open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup < 0) {
    int saved = errno;
    close(prog);
    errno = saved;
    syscall_name = "open";
    return -1;
  }
  bpf_attr attach = {};
  attach.target_fd = static_cast<__u32>(cgroup);
  attach.attach_bpf_fd = static_cast<__u32>(prog);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;  // ancestors' device programs keep applying too
  int result = static_cast<int>(bpf(BPF_PROG_ATTACH, attach));
  int saved = errno;
  close(cgroup);
  close(prog);  // the attachment holds the program now
  errno = saved;
  if (result < 0) syscall_name = "bpf(BPF_PROG_ATTACH)";
  return result;
}
