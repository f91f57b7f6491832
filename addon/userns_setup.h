// A container in a user namespace (the spec has uid-map keys): what the
// monitor does between clone3(CLONE_NEWUSER | …) and the child's step
// "userns" (container_setup.cc), and the child's receiving end. See
// docs/architecture.md, "Sync points".
//
//   1. userns_write_maps: the child's uid and gid maps, written to
//      /proc/<pid>/{gid_map,uid_map} by a root monitor (map-with write), or
//      through the setuid newgidmap/newuidmap by a rootless one.
//   2. userns_prepare_mounts (map-with write only): what the container's root,
//      an unprivileged host id, cannot reach in the state root (0700): the
//      rootfs overlay, mounted in the child's mount namespace (lower layers as
//      idmapped mounts with idmap-lower, but those in lower-mapped: the
//      container's snapshots), and a detached copy of each bind
//      mount's source (idmapped with the mount option `idmap`).
//   3. userns_release_child: their descriptors to the child over the sync
//      socket (SCM_RIGHTS, 'F' messages), then 'U': the maps are in place.
#pragma once
#include <string>
#include <vector>

#include "spec.h"

// What failed: the call, the path it was working on, and errno.
struct UsernsFailure {
  const char* syscall = "";
  std::string path;
  int error_number = 0;
};

// The staging directory of lower layer `index` with idmap-lower: below the
// rootfs directory, on a tmpfs the overlay then covers.
std::string userns_lower_staging(const Spec& spec, size_t index);

// Writes the child's id maps; false with `failure` filled.
bool userns_write_maps(const Spec& spec, int pid, UsernsFailure& failure);

// map-with write: mounts the rootfs overlay (`overlay_options`, whose lower
// dirs are staging directories below the rootfs with idmap-lower) in the
// child's mount namespace and clones each bind mount's source. `fds` gets, in
// order, an O_PATH descriptor of the mounted rootfs (in the child's mount
// namespace) and one detached mount per bind mount, in spec order.
bool userns_prepare_mounts(const Spec& spec, int pid, const std::string& overlay_options, std::vector<int>& fds,
                           UsernsFailure& failure);

// Sends `fds` in 'F' messages, then 'U'; closes them. False when the child is gone.
bool userns_release_child(int sync_fd, std::vector<int>& fds);

// The child's side of userns_release_child: receives descriptors into
// `fds[0 … count)` until 'U' (close-on-exec). Returns the number received, or
// -1 when the monitor is gone or sent more than `count`.
int userns_receive(int sync_fd, int* fds, size_t count);
