// The new mount API calls berth uses (Linux 5.2 and 5.12), declared here:
// <linux/mount.h> clashes with <sys/mount.h> on older C libraries, and the
// C library has no wrappers for them.
//
//   open_tree(OPEN_TREE_CLONE)      a detached copy of a mount (tree)
//   move_mount                      attaches a detached mount (or moves one)
//   mount_setattr                   read-only etc. for a whole tree; idmapped mounts
//   fsopen, fsconfig, fsmount       a new filesystem as a detached mount
#pragma once
#include <fcntl.h>
#include <linux/types.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

constexpr unsigned kOpenTreeClone = 1;                // OPEN_TREE_CLONE
constexpr unsigned kMoveMountFromEmptyPath = 0x04;    // MOVE_MOUNT_F_EMPTY_PATH
constexpr unsigned kMoveMountToEmptyPath = 0x40;      // MOVE_MOUNT_T_EMPTY_PATH
constexpr __u64 kMountAttrReadOnly = 0x00000001;      // MOUNT_ATTR_RDONLY
constexpr __u64 kMountAttrNoSuid = 0x00000002;        // MOUNT_ATTR_NOSUID
constexpr __u64 kMountAttrNoDev = 0x00000004;         // MOUNT_ATTR_NODEV
constexpr __u64 kMountAttrNoExec = 0x00000008;        // MOUNT_ATTR_NOEXEC
constexpr __u64 kMountAttrIdmap = 0x00100000;         // MOUNT_ATTR_IDMAP

struct MountAttributes {
  __u64 attr_set, attr_clr, propagation, userns_fd;
};

// A detached copy of the mount at `path` (with `recursive`, of everything
// mounted below it too), close-on-exec; -1 with errno set.
inline int mount_clone(const char* path, bool recursive) {
  return static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, path,
                                  kOpenTreeClone | O_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
}

// Attaches the detached mount `fd` on the directory (or file) `target_fd`.
inline int mount_move_onto_fd(int fd, int target_fd) {
  return static_cast<int>(
      syscall(SYS_move_mount, fd, "", target_fd, "", kMoveMountFromEmptyPath | kMoveMountToEmptyPath));
}

// Attaches the detached mount `fd` on `path`.
inline int mount_move_onto_path(int fd, const char* path) {
  return static_cast<int>(syscall(SYS_move_mount, fd, "", AT_FDCWD, path, kMoveMountFromEmptyPath));
}

// A new instance of `fstype` (no options) as a detached mount with
// `attributes` (MOUNT_ATTR_*), close-on-exec; -1 with errno set.
inline int mount_new_detached(const char* fstype, __u64 attributes) {
  int context = static_cast<int>(syscall(SYS_fsopen, fstype, 1 /* FSOPEN_CLOEXEC */));
  if (context < 0) return -1;
  int fd = -1;
  if (syscall(SYS_fsconfig, context, 6 /* FSCONFIG_CMD_CREATE */, nullptr, nullptr, 0) == 0)
    fd = static_cast<int>(syscall(SYS_fsmount, context, 1 /* FSMOUNT_CLOEXEC */, attributes));
  int saved = errno;
  close(context);
  errno = saved;
  return fd;
}

// Sets `attributes` on the mount `fd` (with `recursive`, on the whole tree).
inline int mount_set_attributes(int fd, bool recursive, MountAttributes& attributes) {
  return static_cast<int>(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
                                  &attributes, sizeof attributes));
}
