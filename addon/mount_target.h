// Mount targets, resolved inside the container's root filesystem.
//
// Used by the container's first process (container_setup.cc, step "mounts")
// before pivot_root: a target such as `/data` is looked up below the rootfs as
// if the rootfs were `/`, so a symlink in the image (`/data -> /`,
// `/data -> ../../..`, `/data -> /etc`) can only ever lead to a place inside
// the rootfs, never onto the host. Nothing here allocates: every buffer is on
// the stack and every string comes from the caller.
#pragma once

// Opens `target` (absolute, as the user wrote it) inside the directory
// `root_fd`: openat2() with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, so
// absolute symlinks start again at `root_fd` and `..` stops there. Missing
// components are created on the way (directories, mode 0755; with `directory`
// false the last one as an empty regular file, mode 0644), including those a
// dangling symlink points to, resolved the same way.
//
// Returns an O_PATH descriptor of what the target names (close-on-exec), or
// -1 with errno set and *failed_syscall naming the call that failed.
int mount_target_open(int root_fd, const char* target, bool directory, const char** failed_syscall);
