#include "mount_target.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

const int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS

// openat2(root_fd, path) with `/` and `..` scoped to root_fd; magic links
// (/proc/<pid>/fd/…) are never followed.
int open_in_root(int root_fd, const char* path, int flags, unsigned long long resolve) {
  open_how how = {};
  how.flags = static_cast<unsigned long long>(flags | O_PATH | O_CLOEXEC);
  how.resolve = resolve | RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

int failed(const char** failed_syscall, const char* name) {
  *failed_syscall = name;
  return -1;
}

int too_long(const char** failed_syscall) {
  errno = ENAMETOOLONG;
  return failed(failed_syscall, "openat2");
}

// The slow way, taken when something on the way is missing: one component at
// a time, so that each missing one can be made where it belongs. `resolved`
// is the path reached so far, free of symlinks (they are read and their
// targets walked instead); `pending` is what is left. Every lookup is again
// an openat2() in the root with RESOLVE_NO_SYMLINKS: the kernel checks that
// the path really has no symlink left.
int walk_creating(int root_fd, const char* target, bool directory, const char** failed_syscall) {
  char pending[PATH_MAX], next[PATH_MAX], resolved[PATH_MAX], link[PATH_MAX];
  size_t target_len = strlen(target);
  if (target_len >= sizeof pending) return too_long(failed_syscall);
  memcpy(pending, target, target_len + 1);
  size_t pos = 0, resolved_len = 0;
  resolved[0] = '\0';
  int links = 0;
  for (;;) {
    while (pending[pos] == '/') pos++;
    if (pending[pos] == '\0') break;
    const char* part = pending + pos;
    size_t part_len = strcspn(part, "/");
    pos += part_len;
    const char* rest = pending + pos;  // "" or "/…"
    bool last = rest[strspn(rest, "/")] == '\0';
    if (part_len == 1 && part[0] == '.') continue;
    if (part_len == 2 && part[0] == '.' && part[1] == '.') {  // up, but never above the root
      while (resolved_len > 0 && resolved[resolved_len - 1] != '/') resolved_len--;
      if (resolved_len > 0) resolved_len--;
      resolved[resolved_len] = '\0';
      continue;
    }
    size_t parent_len = resolved_len;
    if (resolved_len + 1 + part_len >= sizeof resolved) return too_long(failed_syscall);
    resolved[resolved_len++] = '/';
    memcpy(resolved + resolved_len, part, part_len);
    resolved_len += part_len;
    resolved[resolved_len] = '\0';

    int fd = open_in_root(root_fd, resolved, O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    if (fd < 0 && errno == ENOENT) {
      // missing: make it in its parent (a directory, or the file of a file mount)
      resolved[parent_len] = '\0';
      int parent = open_in_root(root_fd, parent_len ? resolved : "/", O_DIRECTORY, RESOLVE_NO_SYMLINKS);
      resolved[parent_len] = '/';
      if (parent < 0) return failed(failed_syscall, "openat2");
      const char* name = resolved + parent_len + 1;
      const bool file = last && !directory;
      int made = file ? openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)
                      : mkdirat(parent, name, 0755);
      int saved = errno;
      if (file && made >= 0) close(made);
      close(parent);
      errno = saved;
      if (made < 0 && errno != EEXIST) return failed(failed_syscall, file ? "openat" : "mkdirat");
      fd = open_in_root(root_fd, resolved, O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    }
    if (fd < 0) return failed(failed_syscall, "openat2");
    struct stat st;
    if (fstat(fd, &st) < 0) {
      int saved = errno;
      close(fd);
      errno = saved;
      return failed(failed_syscall, "fstat");
    }
    if (S_ISLNK(st.st_mode)) {
      // walk the link's target instead, from the root when it is absolute
      ssize_t n = readlinkat(fd, "", link, sizeof link);
      int saved = errno;
      close(fd);
      errno = saved;
      if (n < 0) return failed(failed_syscall, "readlinkat");
      if (++links > kMaxSymlinks) {
        errno = ELOOP;
        return failed(failed_syscall, "openat2");
      }
      size_t link_len = static_cast<size_t>(n), rest_len = strlen(rest);
      if (link_len >= sizeof link || link_len + 1 + rest_len >= sizeof next) return too_long(failed_syscall);
      memcpy(next, link, link_len);
      next[link_len] = '/';
      memcpy(next + link_len + 1, rest, rest_len + 1);
      memcpy(pending, next, link_len + 1 + rest_len + 1);
      pos = 0;
      resolved_len = link[0] == '/' ? 0 : parent_len;
      resolved[resolved_len] = '\0';
      continue;
    }
    if (last) return fd;
    close(fd);
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return failed(failed_syscall, "openat2");
    }
  }
  // the walk ended on a directory reached by `..` or a link (`/a/..`, `-> /`)
  int fd = open_in_root(root_fd, resolved_len ? resolved : "/", O_DIRECTORY, RESOLVE_NO_SYMLINKS);
  return fd >= 0 ? fd : failed(failed_syscall, "openat2");
}

}  // namespace

int mount_target_open(int root_fd, const char* target, bool directory, const char** failed_syscall) {
  // the usual case: everything exists, one call
  int fd = open_in_root(root_fd, target, directory ? O_DIRECTORY : 0, 0);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return failed(failed_syscall, "openat2");
  return walk_creating(root_fd, target, directory, failed_syscall);
}
