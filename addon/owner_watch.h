// A container bound to its owner (the Node process that created it, with
// `removeOnOwnerExit`): the monitor holds a pidfd on the owner, watches it in
// its poll loop, and when the owner exits — however it exits, SIGKILL
// included — kills the container and removes everything of it on its own.
#pragma once
#include <poll.h>
#include <string>
#include <vector>

struct Spec;

class OwnerWatch {
 public:
  // Opens a pidfd on the spec's owner. False when the owner is already gone
  // (exited, or its pid now names another process). Without an owner in the
  // spec the watch stays inactive and this returns true.
  bool open(const Spec& spec);
  bool active() const { return fd_ >= 0; }
  // True once the owner has exited (looks without waiting).
  bool gone();
  // Appends the pidfd to a poll set (when active); `handle` takes the entry
  // back and returns true when the owner has exited.
  void add_pollfd(std::vector<pollfd>& fds);
  bool handle(const pollfd* fds, size_t count);
  // Waits up to `ms` for the owner to exit; true when it did.
  bool wait(int ms);

 private:
  int fd_ = -1;
  bool gone_ = false;
};

// After the container's exit, for an owner-bound container: waits until the
// owner exits and then removes the container (its name, directory and
// anonymous volumes). Returns early, leaving the container to whoever has it
// now, when it is removed or started again meanwhile.
void owner_linger_then_remove(const Spec& spec, OwnerWatch& owner);

// Removes an owner-bound container whose owner is gone: under the
// container's lock, its name, its directory, then each anonymous volume that
// no other container's config names (under the volumes lock). With
// `only_if_exited`, only when its exit.json is still there (it was not started
// again meanwhile).
void owner_remove_container(const Spec& spec, bool only_if_exited);
