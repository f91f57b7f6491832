#include "process_credentials.h"

#include <cstdlib>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

int failed(const char* syscall_name, const char* path, const char** failed_syscall, const char** failed_path) {
  *failed_syscall = syscall_name;
  *failed_path = path;
  return -1;
}

}  // namespace

int credentials_last_capability() {
  int last = 40;
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[16] = {};
    if (read(fd, buf, sizeof buf - 1) > 0) last = atoi(buf);
    close(fd);
  }
  return last;
}

int credentials_limit_capabilities(unsigned long long keep, int last_capability, const char** failed_syscall,
                                   const char** failed_path) {
  for (int cap = 0; cap <= last_capability; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return failed("prctl", "PR_CAPBSET_DROP", failed_syscall, failed_path);
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    return failed("prctl", "PR_CAP_AMBIENT", failed_syscall, failed_path);
  if (prctl(PR_SET_KEEPCAPS, 1) < 0) return failed("prctl", "PR_SET_KEEPCAPS", failed_syscall, failed_path);
  return 0;
}

int credentials_set_user(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const char** failed_syscall,
                         const char** failed_path) {
  if (setgroups(groups.size(), groups.data()) < 0) return failed("setgroups", nullptr, failed_syscall, failed_path);
  if (setresgid(gid, gid, gid) < 0) return failed("setresgid", nullptr, failed_syscall, failed_path);
  if (setresuid(uid, uid, uid) < 0) return failed("setresuid", nullptr, failed_syscall, failed_path);
  return 0;
}

int credentials_set_capabilities(unsigned long long keep, const char** failed_syscall, const char** failed_path) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = data[0].permitted = static_cast<__u32>(keep);
  data[1].effective = data[1].permitted = static_cast<__u32>(keep >> 32);
  if (syscall(SYS_capset, &header, data) < 0) return failed("capset", nullptr, failed_syscall, failed_path);
  if (prctl(PR_SET_KEEPCAPS, 0) < 0) return failed("prctl", "PR_SET_KEEPCAPS", failed_syscall, failed_path);
  return 0;
}
