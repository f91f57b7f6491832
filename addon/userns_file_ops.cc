#include "userns_file_ops.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "control_events.h"
#include "remove_tree.h"
#include "userns_own.h"

// The operations, one `file-op` record each, applied in order:
//
//   chown <uid> <gid> <path>   owner in the namespace's ids (lchown: a symlink itself)
//   chmod <octal mode> <path>  after chown, which clears set-id bits (not on symlinks)
//   setcap <hex> <path>        security.capability of a regular file; the kernel
//                              stores it namespaced (root id = the caller)
//   remove-tree                rm -rf of the target itself (remove_tree.cc)
//
// <path> is relative to the spec's `target` directory and is opened with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV) and O_PATH | O_NOFOLLOW: no component may be a symlink, the
// last one is acted on itself, never what it points to, and nothing outside
// the target can be reached, whatever the tree holds.

namespace {

const char* step = "userns";

[[noreturn]] void fail(const char* syscall_name, const std::string& path) {
  control_event_send(control_error_event(step, syscall_name, errno, path.c_str()));
  _exit(1);
}

[[noreturn]] void fail_parse(const std::string& op) {
  errno = EINVAL;
  fail_parse(op);
}

// `path` below `dir_fd`, the last component not followed.
int open_beneath(int dir_fd, const std::string& path) {
  open_how how = {};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how));
}

// "/proc/self/fd/<fd>": path calls on an O_PATH descriptor's own inode.
std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

bool parse_hex(const std::string& text, std::string& bytes) {
  if (text.empty() || text.size() % 2 || text.size() > 64) return false;
  for (size_t i = 0; i < text.size(); i += 2) {
    char pair[3] = {text[i], text[i + 1], 0};
    char* end = nullptr;
    long value = strtol(pair, &end, 16);
    if (*end) return false;
    bytes += static_cast<char>(value);
  }
  return true;
}

// The next space-separated word of `rest`, taken off it.
std::string take_word(std::string& rest) {
  size_t space = rest.find(' ');
  std::string word = rest.substr(0, space);
  rest = space == std::string::npos ? "" : rest.substr(space + 1);
  return word;
}

bool parse_id(const std::string& text, unsigned long& id) {
  char* end = nullptr;
  errno = 0;
  id = strtoul(text.c_str(), &end, 10);
  return !text.empty() && !*end && errno == 0 && id < 0xffffffffUL;
}

void apply(int target_fd, const std::string& target, const std::string& op) {
  std::string rest = op;
  std::string verb = take_word(rest);
  step = "file-op";
  if (verb == "remove-tree") {
    if (!rest.empty()) fail_parse(op);
    remove_tree(target);
    struct stat left;
    if (lstat(target.c_str(), &left) == 0) {
      // what remove_tree could not remove: the kernel's reason, from one more try
      if (rmdir(target.c_str()) < 0) fail("rmdir", target);
    }
    return;
  }
  std::string first = take_word(rest);
  std::string second = verb == "chown" ? take_word(rest) : "";
  const std::string& path = rest;
  if (path.empty()) fail_parse(op);
  int fd = open_beneath(target_fd, path);
  if (fd < 0) fail("openat2", path);
  struct stat st;
  if (fstat(fd, &st) < 0) fail("fstat", path);
  if (verb == "chown") {
    unsigned long uid = 0, gid = 0;
    if (!parse_id(first, uid) || !parse_id(second, gid)) fail_parse(op);
    if (fchownat(fd, "", static_cast<uid_t>(uid), static_cast<gid_t>(gid), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
      fail("fchownat", path);
  } else if (verb == "chmod") {
    char* end = nullptr;
    unsigned long mode = strtoul(first.c_str(), &end, 8);
    if (first.empty() || *end || mode > 07777) fail_parse(op);
    if (S_ISLNK(st.st_mode)) fail("chmod", path);  // Node never asks: a symlink has no mode
    if (chmod(fd_path(fd).c_str(), static_cast<mode_t>(mode)) < 0) fail("chmod", path);
  } else if (verb == "setcap") {
    std::string value;
    if (!parse_hex(first, value)) fail_parse(op);
    errno = EINVAL;
    if (!S_ISREG(st.st_mode)) fail("setxattr", path);
    if (setxattr(fd_path(fd).c_str(), "security.capability", value.data(), value.size(), 0) < 0) fail("setxattr", path);
  } else {
    fail_parse(op);
  }
  close(fd);
}

}  // namespace

[[noreturn]] void userns_files_main(const ExecSpec& spec, KeyValueBuffer& control) {
  // 1. The target, opened as the caller before anything changes.
  step = "target";
  bool removes = spec.file_ops.size() == 1 && spec.file_ops[0] == "remove-tree";
  int target_fd = -1;
  if (!removes) {
    target_fd = open(spec.target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (target_fd < 0) fail("open", spec.target);
  }

  // 2. A user namespace of our own, mapped by Node; root in it.
  step = "userns";
  const char* failed_call = nullptr;
  if (userns_unshare_mapped(control, &failed_call) < 0) fail(failed_call, "");

  // 3. The operations, in order; the first failure ends them.
  for (const auto& op : spec.file_ops) apply(target_fd, spec.target, op);
  control_event_send("{\"event\":\"done\"}");
  _exit(0);
}
