#include "owner_watch.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "remove_tree.h"
#include "spec.h"
#include "state_file.h"

namespace {

// The whole file (small: a config.json), or "" when it cannot be read.
std::string read_small_file(const std::string& path) {
  std::string text;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  return text;
}

// True when a container other than `own_dir` names the volume in its
// config.json. Volume names are 64 random hex characters for anonymous
// volumes, so a plain search for "name" is exact without a JSON parser.
bool volume_used_elsewhere(const std::string& containers_dir, const std::string& own_dir, const std::string& volume) {
  DIR* dir = opendir(containers_dir.c_str());
  if (!dir) return true;  // cannot tell: keep it
  bool used = false;
  const std::string quoted = "\"" + volume + "\"";
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = containers_dir + "/" + entry->d_name;
    if (path == own_dir) continue;
    if (read_small_file(path + "/config.json").find(quoted) != std::string::npos) {
      used = true;
      break;
    }
  }
  closedir(dir);
  return used;
}

// An exclusive flock on `path`: a lock file (created when missing), or with
// `directory` the directory itself (the container's lock, as Node takes it).
int lock_file(const std::string& path, bool directory = false) {
  int fd = directory ? open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
                     : open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return -1;
  while (flock(fd, LOCK_EX) < 0 && errno == EINTR) {
  }
  return fd;
}

}  // namespace

bool OwnerWatch::open(const Spec& spec) {
  if (spec.owner_pid <= 0) return true;
  fd_ = static_cast<int>(syscall(SYS_pidfd_open, spec.owner_pid, 0));
  if (fd_ < 0) {
    gone_ = true;  // ESRCH: it exited already
    return false;
  }
  // the pid may have been reused since the owner was recorded
  if (process_start_time(spec.owner_pid) != spec.owner_start_time) gone_ = true;
  return !gone();
}

bool OwnerWatch::gone() { return wait(0); }

bool OwnerWatch::wait(int ms) {
  if (gone_ || fd_ < 0) return gone_;
  pollfd p = {fd_, POLLIN, 0};
  int n;
  do n = poll(&p, 1, ms);
  while (n < 0 && errno == EINTR);
  if (n > 0) gone_ = true;  // a pidfd is readable once its process has exited
  return gone_;
}

void OwnerWatch::add_pollfd(std::vector<pollfd>& fds) {
  if (fd_ >= 0 && !gone_) fds.push_back({fd_, POLLIN, 0});
}

bool OwnerWatch::handle(const pollfd* fds, size_t count) {
  if (fd_ >= 0 && count > 0 && fds[0].fd == fd_ && fds[0].revents) gone_ = true;
  return gone_;
}

void owner_linger_then_remove(const Spec& spec, OwnerWatch& owner) {
  if (!owner.active() && !owner.gone()) return;
  // nothing of the container may stay reachable while we wait: the published ports close now
  for (const auto& mapping : spec.ports)
    if (mapping.fd >= 0) close(mapping.fd);
  for (;;) {
    if (owner.wait(1000)) break;
    // removed by the user, or started again (start() deletes exit.json first): not ours any more
    if (access(spec.exit_path.c_str(), F_OK) != 0) return;
  }
  owner_remove_container(spec, true);
}

void owner_remove_container(const Spec& spec, bool only_if_exited) {
  const std::string& dir = spec.owner_remove_dir;
  if (dir.empty()) return;
  int lock = lock_file(dir, true);
  if (lock < 0) return;  // already removed
  // under the lock: a start from another process since our exit makes it theirs
  const bool remove = !only_if_exited || access(spec.exit_path.c_str(), F_OK) == 0;
  if (remove) {
    unlink(spec.owner_remove_name.c_str());
    remove_tree(dir);
  }
  close(lock);
  if (!remove || spec.owner_remove_volumes.empty()) return;
  // anonymous volumes, as `remove({ volumes: true })`: each unless another container names it
  int volumes_lock = lock_file(spec.owner_volumes_lock);
  if (volumes_lock < 0) return;
  for (const auto& volume_dir : spec.owner_remove_volumes) {
    const std::string name = volume_dir.substr(volume_dir.rfind('/') + 1);
    if (volume_used_elsewhere(spec.owner_containers_dir, dir, name)) continue;
    // out of sight first (as the volume collection does), then deleted
    const std::string trash = volume_dir.substr(0, volume_dir.rfind('/') + 1) + ".trash-" + name;
    if (rename(volume_dir.c_str(), trash.c_str()) == 0) remove_tree(trash);
  }
  close(volumes_lock);
}
