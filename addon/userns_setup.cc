#include "userns_setup.h"

#include "fd_passing.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount_api.h"

namespace {

bool failed(UsernsFailure& failure, const char* syscall_name, const std::string& path) {
  failure.syscall = syscall_name;
  failure.path = path;
  failure.error_number = errno;
  return false;
}

// Closes what a failed preparation leaves open, keeping errno.
void close_all(std::vector<int>& fds) {
  int saved = errno;
  for (int fd : fds)
    if (fd >= 0) close(fd);
  fds.clear();
  errno = saved;
}

std::string proc_path(int pid, const char* name) { return "/proc/" + std::to_string(pid) + "/" + name; }

// Root: one write(2) of every range, as the kernel requires.
bool write_map(int pid, const char* file, const std::vector<std::string>& map, UsernsFailure& failure) {
  const std::string path = proc_path(pid, file);
  std::string text;
  for (const auto& range : map) text += range + "\n";
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return failed(failure, "open", path);
  ssize_t written = write(fd, text.data(), text.size());
  int saved = errno;
  close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    errno = written < 0 ? saved : EIO;
    return failed(failure, "write", path);
  }
  return true;
}

// Rootless: `tool <pid> C H N …` (newuidmap or newgidmap, setuid root, which
// checks the ranges against /etc/subuid or /etc/subgid). Its first line of
// stderr goes into the error's path, after the tool's own path.
bool run_map_tool(const char* name, const std::string& tool, int pid, const std::vector<std::string>& map,
                  UsernsFailure& failure) {
  std::vector<std::string> args = {tool, std::to_string(pid)};
  for (const auto& range : map) {
    size_t start = 0;
    while (start < range.size()) {
      size_t end = range.find(' ', start);
      if (end == std::string::npos) end = range.size();
      if (end > start) args.push_back(range.substr(start, end - start));
      start = end + 1;
    }
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  int err[2];
  if (pipe2(err, O_CLOEXEC) < 0) return failed(failure, "pipe2", tool);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t child = -1;
  int spawn_error = posix_spawn(&child, tool.c_str(), &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  close(err[1]);
  if (spawn_error != 0) {
    close(err[0]);
    errno = spawn_error;
    return failed(failure, name, tool);
  }
  std::string output;
  char buf[512];
  for (;;) {
    ssize_t n = read(err[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 1024) output.append(buf, static_cast<size_t>(n));
  }
  close(err[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  output = output.substr(0, output.find('\n'));
  errno = EPERM;
  return failed(failure, name, output.empty() ? tool : tool + ": " + output);
}

// An idmapped mount: `fd` (a detached clone) shows the files through the
// user namespace `userns_fd`, host id → container id as its maps say.
bool make_idmapped(int fd, int userns_fd, const std::string& path, UsernsFailure& failure) {
  MountAttributes attributes = {};
  attributes.attr_set = kMountAttrIdmap;
  attributes.userns_fd = static_cast<__u64>(userns_fd);
  if (mount_set_attributes(fd, false, attributes) < 0) return failed(failure, "mount_setattr", path);
  return true;
}

// In the child's mount namespace: the idmapped lower layers on staging
// directories (a tmpfs on the rootfs directory), the overlay over them; an
// O_PATH descriptor of the result.
int mount_rootfs(const Spec& spec, const std::vector<int>& lowers, const std::string& overlay_options,
                 UsernsFailure& failure) {
  const char* rootfs = spec.rootfs.c_str();
  if (!lowers.empty()) {
    if (mount("tmpfs", rootfs, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700") < 0)
      return failed(failure, "mount", spec.rootfs), -1;
    for (size_t i = 0; i < lowers.size(); i++) {
      const std::string staging = userns_lower_staging(spec, i);
      if (mkdir(staging.c_str(), 0700) < 0) return failed(failure, "mkdir", staging), -1;
      if (mount_move_onto_path(lowers[i], staging.c_str()) < 0) return failed(failure, "move_mount", spec.lower_dirs[i]), -1;
    }
  }
  if (mount("overlay", rootfs, "overlay", 0, overlay_options.c_str()) < 0) return failed(failure, "mount", spec.rootfs), -1;
  int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failed(failure, "open", spec.rootfs), -1;
  return fd;
}

// Runs mount_rootfs inside the mount namespace of `pid`, and comes back.
int mount_rootfs_in_child(const Spec& spec, int pid, const std::vector<int>& lowers, const std::string& overlay_options,
                          UsernsFailure& failure) {
  int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (own < 0) return failed(failure, "open", "/proc/self/ns/mnt"), -1;
  const std::string child_ns = proc_path(pid, "ns/mnt");
  int child = open(child_ns.c_str(), O_RDONLY | O_CLOEXEC);
  if (child < 0 || setns(child, CLONE_NEWNS) < 0) {
    failed(failure, child < 0 ? "open" : "setns", child_ns);
    if (child >= 0) close(child);
    close(own);
    return -1;
  }
  close(child);
  int fd = mount_rootfs(spec, lowers, overlay_options, failure);
  // back home: the monitor's root and cwd are its own mount namespace's again
  int saved = errno;
  if (setns(own, CLONE_NEWNS) < 0 || chdir("/") < 0) _exit(125);  // cannot happen to a root monitor
  close(own);
  errno = saved;
  return fd;
}

}  // namespace

std::string userns_lower_staging(const Spec& spec, size_t index) { return spec.rootfs + "/" + std::to_string(index); }

bool userns_write_maps(const Spec& spec, int pid, UsernsFailure& failure) {
  if (spec.map_with_newuidmap) {
    return run_map_tool("newgidmap", spec.newgidmap, pid, spec.gid_map, failure) &&
           run_map_tool("newuidmap", spec.newuidmap, pid, spec.uid_map, failure);
  }
  return write_map(pid, "gid_map", spec.gid_map, failure) && write_map(pid, "uid_map", spec.uid_map, failure);
}

bool userns_prepare_mounts(const Spec& spec, int pid, const std::string& overlay_options, std::vector<int>& fds,
                           UsernsFailure& failure) {
  const std::string userns_path = proc_path(pid, "ns/user");
  int userns_fd = open(userns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (userns_fd < 0) return failed(failure, "open", userns_path);
  std::vector<int> lowers;
  bool ok = true;
  // detached clones, made in the monitor's own mount namespace where the state root is
  // (a snapshot of this container holds mapped host ids already: cloned as it is)
  if (spec.idmap_lower) {
    for (const auto& lower : spec.lower_dirs) {
      int fd = mount_clone(lower.c_str(), false);
      if (fd < 0) { ok = failed(failure, "open_tree", lower); break; }
      lowers.push_back(fd);
      const bool mapped = std::find(spec.lower_mapped.begin(), spec.lower_mapped.end(), lower) != spec.lower_mapped.end();
      if (!mapped && !(ok = make_idmapped(fd, userns_fd, lower, failure))) break;
    }
  }
  fds.push_back(-1);  // the rootfs, below
  for (size_t i = 0; ok && i < spec.mounts.size(); i++) {
    const Mount& m = spec.mounts[i];
    if (!m.bind) continue;
    int fd = mount_clone(m.source.c_str(), !m.idmap);
    if (fd < 0) { ok = failed(failure, "open_tree", m.source); break; }
    fds.push_back(fd);
    if (m.idmap) ok = make_idmapped(fd, userns_fd, m.source, failure);
  }
  close(userns_fd);
  if (ok) ok = (fds[0] = mount_rootfs_in_child(spec, pid, lowers, overlay_options, failure)) >= 0;
  close_all(lowers);  // attached in the child's namespace, or not needed
  if (!ok) close_all(fds);
  return ok;
}

bool userns_release_child(int sync_fd, std::vector<int>& fds) {
  bool ok = true;
  for (size_t start = 0; ok && start < fds.size(); start += kMaxFdsPerMessage) {
    const size_t count = std::min(kMaxFdsPerMessage, fds.size() - start);
    const char kind = 'F';
    ok = send_with_fds(sync_fd, &kind, 1, fds.data() + start, count) == 1;
  }
  close_all(fds);
  char done = 'U';
  return ok && send(sync_fd, &done, 1, MSG_NOSIGNAL) == 1;
}

int userns_receive(int sync_fd, int* fds, size_t count) {
  size_t received = 0;
  for (;;) {
    char kind = 0;
    size_t got = 0;
    // descriptors past `count` are closed, and still counted: a protocol error below
    ssize_t n = receive_with_fds(sync_fd, &kind, 1, fds + std::min(received, count), received < count ? count - received : 0, got);
    if (n != 1) return -1;  // the monitor is gone
    received += got;
    if (kind == 'U') return received <= count ? static_cast<int>(received) : -1;
  }
}
