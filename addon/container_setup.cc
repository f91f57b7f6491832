// The container's first process, from clone() to execve().
//
// This file reads top to bottom in the order things happen. The process was
// cloned by the monitor (monitor_main.cc) into new pid, mount, uts, ipc and
// network namespaces, and a new user namespace owning them when the spec has
// id maps (step 2b). Each numbered step below names itself in `step`; when a
// system call fails, the step, the call, the errno and the path go back to the
// monitor over the SOCK_SEQPACKET sync socket and the process exits.
//
// Nothing here allocates: every string was prepared before clone in
// child_plan_prepare().

#include "container_setup.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/types.h>
#include <poll.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "exec_path.h"
#include "fd_passing.h"
#include "mount_api.h"
#include "mount_target.h"
#include "process_credentials.h"
#include "pty_open.h"
#include "resource_limits.h"
#include "seccomp_load.h"
#include "setup_error.h"
#include "userns_setup.h"

namespace {

const char* step = "start";  // the step in progress, reported with any failure
int sync_fd = -1;

[[noreturn]] void fail(const char* syscall_name, const char* path) {
  setup_error_exit(sync_fd, step, syscall_name, path);
}

void check(int result, const char* syscall_name, const char* path) {
  if (result < 0) fail(syscall_name, path);
}

void make_dir(const char* path, mode_t mode) {
  if (mkdir(path, mode) < 0 && errno != EEXIST) fail("mkdir", path);
}

// mkdir -p for a path in the (already pivoted) root, using a stack buffer.
void make_dirs(const char* path) {
  char buf[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof buf) { errno = ENAMETOOLONG; fail("mkdir", path); }
  memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) fail("mkdir", buf);
    buf[i] = saved;
  }
}

void make_device(const char* path, unsigned major_number, unsigned minor_number) {
  check(mknod(path, S_IFCHR | 0666, makedev(major_number, minor_number)), "mknod", path);
}

// A host device node (privileged), with its mode and owner; its directories
// are made on the way (/dev/input/event0).
void make_host_device(const DeviceNode& d) {
  const char* path = d.path.c_str();
  const char* slash = strrchr(path, '/');
  if (slash != path + 4) {  // below a directory of /dev
    char parent[PATH_MAX];
    size_t len = static_cast<size_t>(slash - path);
    if (len >= sizeof parent) { errno = ENAMETOOLONG; fail("mkdir", path); }
    memcpy(parent, path, len);
    parent[len] = '\0';
    make_dirs(parent);
  }
  mode_t type = d.type == 'b' ? S_IFBLK : S_IFCHR;
  if (mknod(path, type | d.mode, makedev(d.major, d.minor)) < 0) {
    if (errno == EEXIST) return;  // one of the standard nodes
    fail("mknod", path);
  }
  check(chown(path, d.uid, d.gid), "chown", path);
}

// The seccomp filter (step "seccomp"): see seccomp_load.h for when.
void load_seccomp(const ChildPlan& plan) {
  step = "seccomp";
  const char* path = plan.spec->process.seccomp.c_str();
  if (plan.seccomp_read_errno) {
    errno = plan.seccomp_read_errno;
    fail("open", path);
  }
  check(seccomp_program_load(plan.seccomp_program), "seccomp", path);
}

void make_symlink(const char* target, const char* path) {
  check(symlink(target, path), "symlink", path);
}

// Docker's masked paths: files are covered by /dev/null, directories by an
// empty read-only tmpfs. Paths the kernel doesn't have are skipped. The type
// is looked up first: a failed bind of /dev/null over a directory costs the
// kernel an RCU grace period (it unmounts the copy it made), about a
// millisecond each; nothing of the container runs yet to change it meanwhile.
void mask_path(const char* path) {
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT) return;
    fail("stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    check(mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0"), "mount", path);
    return;
  }
  check(mount("/dev/null", path, nullptr, MS_BIND, nullptr), "mount", path);
}

void make_readonly(const char* path) {
  if (mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    if (errno == ENOENT) return;
    fail("mount", path);
  }
  check(mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC,
              nullptr),
        "mount", path);
}

// A user's mount (step "mounts"): a bind mount or a tmpfs on its target,
// which mount_target_open() resolves inside the rootfs `root_fd` as if it
// were `/`, so no symlink in the image can send a mount to the host. The
// mount goes onto /proc/self/fd/<fd> of the opened target; errors name the
// target as the user wrote it. In a user namespace made by root, a bind
// mount's source is `source_fd`, a detached copy from the monitor (the
// container's root may not reach the source's path), attached with move_mount.
void mount_in_rootfs(int root_fd, const struct stat& root, const Mount& m, int source_fd) {
  const char* target = m.target.c_str();
  bool directory = true;
  if (m.bind) {
    struct stat source;
    if (source_fd >= 0) check(fstat(source_fd, &source), "fstat", m.source.c_str());
    else check(stat(m.source.c_str(), &source), "stat", m.source.c_str());
    directory = S_ISDIR(source.st_mode);
  }
  const char* failed_call = "openat2";
  int fd = mount_target_open(root_fd, target, directory, &failed_call);
  check(fd, failed_call, target);
  struct stat st;
  check(fstat(fd, &st), "fstat", target);
  if (directory != S_ISDIR(st.st_mode)) {
    errno = directory ? ENOTDIR : EISDIR;  // a directory onto a file, or the other way round
    fail("mount", target);
  }
  if (st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
    errno = EBUSY;  // onto the container's root itself (`/data -> /`)
    fail("mount", target);
  }
  char fd_path[32];
  snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
  if (source_fd >= 0) {
    check(mount_move_onto_fd(source_fd, fd), "move_mount", target);
    close(source_fd);
  } else if (m.bind) {
    check(mount(m.source.c_str(), fd_path, nullptr, MS_BIND | MS_REC, nullptr), "mount", target);
  } else {
    check(mount("tmpfs", fd_path, "tmpfs", m.flags, m.data.c_str()), "mount", target);
  }
  close(fd);
  const unsigned long bind_flags = m.bind ? m.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) : 0;
  if (!bind_flags && !m.propagation) return;

  // The descriptor names what is under the new mount; the target looked up
  // again leads into it.
  fd = mount_target_open(root_fd, target, directory, &failed_call);
  check(fd, failed_call, target);
  snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
  if (bind_flags) {
    // read-only (…) for the whole tree, sub-mounts included; other flags stay
    MountAttributes attributes = {};
    attributes.attr_set = bind_flags;  // MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC have the MS_ values
    if (mount_set_attributes(fd, true, attributes) < 0) {
      if (errno != ENOSYS) fail("mount_setattr", target);
      // before Linux 5.12: the top mount only, keeping the flags it has
      struct statvfs current;
      check(statvfs(fd_path, &current), "statvfs", target);
      unsigned long keep = 0;
      if (current.f_flag & ST_NOSUID) keep |= MS_NOSUID;
      if (current.f_flag & ST_NODEV) keep |= MS_NODEV;
      if (current.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
      if (current.f_flag & ST_NOATIME) keep |= MS_NOATIME;
      if (current.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
      if (current.f_flag & ST_RELATIME) keep |= MS_RELATIME;
      check(mount(nullptr, fd_path, nullptr, MS_BIND | MS_REMOUNT | bind_flags | keep, nullptr), "mount", target);
    }
  }
  if (m.propagation) check(mount(nullptr, fd_path, nullptr, m.propagation, nullptr), "mount", target);
  close(fd);
}

// Opens `target` inside the rootfs `root_fd` (mount_target.cc) and names it
// as a path mount(2) takes: /proc/self/fd/<fd>, written into `fd_path`.
int open_in_rootfs(int root_fd, const char* target, bool directory, char (&fd_path)[32]) {
  const char* failed_call = "openat2";
  int fd = mount_target_open(root_fd, target, directory, &failed_call);
  check(fd, failed_call, target);
  snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
  return fd;
}

// A host device node bind-mounted onto an empty file at the same path in the
// rootfs: a user namespace cannot mknod (crun does the same).
void bind_host_device(int root_fd, const char* path) {
  char at[32];
  int fd = open_in_rootfs(root_fd, path, false, at);
  check(mount(path, at, nullptr, MS_BIND, nullptr), "mount", path);
  close(fd);
}

// Step 4c (in a user namespace only): /proc, /dev and /sys, mounted inside
// the rootfs `root_fd` before pivot_root (see the step for why).
void mount_kernel_filesystems(int root_fd, const ChildPlan& plan) {
  const Spec& spec = *plan.spec;
  char at[32];
  step = "proc";
  int fd = open_in_rootfs(root_fd, "/proc", true, at);
  check(mount("proc", at, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), "mount", "/proc");
  close(fd);

  step = "dev";
  fd = open_in_rootfs(root_fd, "/dev", true, at);
  check(mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"), "mount", "/dev");
  close(fd);
  const char* const standard[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
  for (const char* node : standard) bind_host_device(root_fd, node);
  // privileged: the host's other nodes (the standard ones are there, and
  // /dev/ptmx becomes step 7's link to this devpts instance)
  for (const auto& device : spec.devices) {
    bool made_otherwise = device.path == "/dev/ptmx";
    for (const char* node : standard) made_otherwise = made_otherwise || device.path == node;
    if (!made_otherwise) bind_host_device(root_fd, device.path.c_str());
  }

  step = "sys";
  fd = open_in_rootfs(root_fd, "/sys", true, at);
  const unsigned long readonly = spec.sys_writable ? 0 : MS_RDONLY;
  if (spec.network_mode == "none" || spec.network_mode == "bridge" || spec.network_mode == "slirp4netns") {
    check(mount("sysfs", at, "sysfs", readonly | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), "mount", "/sys");
    close(fd);
    return;
  }
  // The network namespace is not one this user namespace owns (host,
  // container:): the kernel refuses a new sysfs there. container: with a root
  // caller: the monitor made one in that namespace (read-only unless
  // privileged); else the host's, read-only.
  if (plan.sysfs_from_monitor) {
    check(mount_move_onto_fd(plan.passed_fds.back(), fd), "move_mount", "/sys");
    close(plan.passed_fds.back());
    close(fd);
    return;
  }
  check(mount("/sys", at, nullptr, MS_BIND | MS_REC, nullptr), "mount", "/sys");
  close(fd);
  if (!readonly) return;
  fd = open_in_rootfs(root_fd, "/sys", true, at);
  MountAttributes attributes = {};
  attributes.attr_set = kMountAttrReadOnly;
  check(mount_set_attributes(fd, true, attributes), "mount_setattr", "/sys");
  close(fd);
}

// Hands descriptors to the monitor (SCM_RIGHTS) in a one-byte message: 'T'
// the pty master, 'N' our user and network namespaces.
void send_fds(char kind, const int* fds, int count, const char* what) {
  check(static_cast<int>(send_with_fds(sync_fd, &kind, 1, fds, static_cast<size_t>(count))), "sendmsg", what);
}

// ip link set lo up, with the old ioctls: no netlink needed for one flag.
void bring_loopback_up() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  check(fd, "socket", "lo");
  ifreq request = {};
  strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  check(ioctl(fd, SIOCGIFFLAGS, &request), "ioctl", "lo");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  check(ioctl(fd, SIOCSIFFLAGS, &request), "ioctl", "lo");
  close(fd);
}

// True when / is the initramfs (ramfs or tmpfs), which pivot_root refuses.
bool root_is_initramfs() {
  struct statfs root;
  if (statfs("/", &root) < 0) return false;
  return root.f_type == RAMFS_MAGIC || root.f_type == TMPFS_MAGIC;
}

bool parent_is_gone() {
  pollfd p = {sync_fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

}  // namespace

void child_plan_prepare(ChildPlan& plan, const Spec& spec) {
  plan.spec = &spec;
  plan.overlay_options = "lowerdir=";
  for (size_t i = 0; i < spec.lower_dirs.size(); i++) {
    if (i) plan.overlay_options += ':';
    plan.overlay_options += spec.idmap_lower ? userns_lower_staging(spec, i) : spec.lower_dirs[i];
  }
  plan.overlay_options += ",upperdir=" + spec.upper_dir + ",workdir=" + spec.work_dir;
  if (spec.overlay_userxattr) plan.overlay_options += ",userxattr";
  plan.rootfs_from_monitor = spec.userns() && !spec.map_with_newuidmap;
  plan.passed_fds.assign(plan.rootfs_from_monitor ? 1 : 0, -1);
  for (const auto& m : spec.mounts)
    if (plan.rootfs_from_monitor && m.bind) plan.passed_fds.push_back(-1);
  plan.sysfs_from_monitor = plan.rootfs_from_monitor && spec.network_mode == "container";
  if (plan.sysfs_from_monitor) plan.passed_fds.push_back(-1);
  exec_path_prepare(plan.command, spec.process.args, spec.process.env);
  plan.last_capability = credentials_last_capability();
  plan.seccomp_read_errno = 0;
  if (!spec.process.seccomp.empty() && seccomp_program_read(spec.process.seccomp, plan.seccomp_program) < 0)
    plan.seccomp_read_errno = errno;
  cgroup_join_prepare(plan.cgroup_join, spec.cgroup_procs);
}

void container_setup_and_exec(const ChildPlan& plan) {
  const Spec& spec = *plan.spec;
  const ProcessSpec& process = spec.process;
  sync_fd = plan.sync_fd;
  const char* failed_call = nullptr;  // filled by the helpers that make several calls
  const char* failed_path = nullptr;
  umask(0);

  // 1. Die with the monitor. It attaches a bridge network meanwhile: steps
  //    3-7 only mount, and run while it does.
  step = "sync";
  check(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);

  // 1b. Into our cgroups, before anything is charged to them (v1; on v2 we
  //     were born there): "0" to each `tasks` file moves this thread, which
  //     is the whole process, without the host-wide lock a pid written to
  //     cgroup.procs takes (cgroup_place.h).
  step = "cgroup";
  const CgroupJoin& join = plan.cgroup_join;
  if (join.open_errno) {
    errno = join.open_errno;
    fail("open", join.tasks_files[join.failed].c_str());
  }
  for (size_t i = 0; i < join.fds.size(); i++) {
    if (write(join.fds[i], "0", 1) != 1) fail("write", join.tasks_files[i].c_str());
    close(join.fds[i]);
  }

  // 1c. With a netns agent (our own user namespace): our user namespace and
  //     the network namespace we run in go to the monitor (an 'N' message),
  //     which may not open /proc/<our pid>/ns/* unprivileged: we are not
  //     dumpable. netns_agent.h.
  if (plan.send_namespaces) {
    const int ns[2] = {open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC),
                       plan.join_netns_fd >= 0 ? plan.join_netns_fd : open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};
    check(ns[0], "open", "/proc/self/ns/user");
    check(ns[1], "open", "/proc/self/ns/net");
    send_fds('N', ns, 2, "/proc/self/ns");
    close(ns[0]);
    if (ns[1] != plan.join_netns_fd) close(ns[1]);
  }

  // 2. Signals as a fresh process has them: the monitor ignores some, and an
  //    ignored signal stays ignored across execve.
  step = "signals";
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);  // SIGKILL/SIGSTOP fail: fine
  sigset_t none;
  sigemptyset(&none);
  check(sigprocmask(SIG_SETMASK, &none, nullptr), "sigprocmask", nullptr);

  // 2b. In a user namespace: wait until the monitor has written our id maps
  //     (a root caller's monitor also mounts our rootfs and copies the bind
  //     mounts' sources, which the container's root could not reach, and
  //     sends their descriptors along: userns_setup.h), then become root in
  //     it. Until the maps are there no id of ours is mapped: nothing before
  //     this point creates a file or a mount.
  if (spec.userns()) {
    step = "userns";
    const int expected = static_cast<int>(plan.passed_fds.size());
    const int received = userns_receive(sync_fd, plan.passed_fds.data(), plan.passed_fds.size());
    if (received < 0) _exit(127);  // the monitor is gone (it reports why)
    if (received != expected) {
      errno = EPROTO;
      fail("recvmsg", nullptr);
    }
    check(setresgid(0, 0, 0), "setresgid", nullptr);
    check(setresuid(0, 0, 0), "setresuid", nullptr);
    check(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);  // the change of credentials cleared it
    if (parent_is_gone()) _exit(127);
  }

  // 3. No mount event propagates from the container to the host (rslave when
  //    a mount asked for slave or shared propagation: the host's still arrive).
  step = "propagation";
  check(mount(nullptr, "/", nullptr, MS_REC | spec.root_propagation, nullptr), "mount", "/");

  // 4. The root filesystem: read-only image layers under a per-container upper
  //    dir. In a user namespace made by root the monitor mounted it (step 2b),
  //    its lower layers idmapped: the container's root cannot reach them.
  step = "rootfs";
  int root_fd = -1;
  if (plan.rootfs_from_monitor) {
    root_fd = plan.passed_fds[0];
  } else {
    check(mount("overlay", spec.rootfs.c_str(), "overlay", 0, plan.overlay_options.c_str()), "mount",
          spec.rootfs.c_str());
  }

  // 4b. The user's mounts (bind mounts, volumes, tmpfs), in order, each on its
  //     target resolved inside the rootfs: a symlink in the image cannot lead
  //     a mount out of it (mount_target.cc). They live in this mount
  //     namespace only, like everything else here.
  if (!spec.mounts.empty() || spec.userns()) {
    step = "mounts";
    if (root_fd < 0) root_fd = open(spec.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    check(root_fd, "open", spec.rootfs.c_str());
    struct stat root;
    check(fstat(root_fd, &root), "fstat", spec.rootfs.c_str());
    size_t passed = 1;  // plan.passed_fds: the rootfs, then one per bind mount
    for (const auto& m : spec.mounts)
      mount_in_rootfs(root_fd, root, m, plan.rootfs_from_monitor && m.bind ? plan.passed_fds[passed++] : -1);
    if (!spec.userns()) {
      close(root_fd);
      root_fd = -1;
    }
  }

  // 4c. In a user namespace: /proc, /dev and /sys now, inside the rootfs
  //     while the host's are still mounted. The kernel mounts a new proc or
  //     sysfs in a user namespace only where one is already fully visible
  //     (none is after step 5), and a user namespace cannot mknod: the host's
  //     device nodes are bind-mounted. Steps 6, 7 and 9 skip what is done.
  if (spec.userns()) mount_kernel_filesystems(root_fd, plan);

  // 5. pivot_root into it and detach the old root: the host's tree is gone.
  step = "pivot-root";
  if (spec.userns()) check(fchdir(root_fd), "fchdir", spec.rootfs.c_str());  // (its path may be out of reach)
  else check(chdir(spec.rootfs.c_str()), "chdir", spec.rootfs.c_str());
  if (syscall(SYS_pivot_root, ".", ".") == 0) {
    check(umount2(".", MNT_DETACH), "umount2", "/");
  } else if (errno == EINVAL && root_is_initramfs()) {
    // The initramfs cannot be pivoted away from (a VM booted without a
    // disk): move the rootfs over / instead. Escaping the chroot leads to
    // the root of this mount namespace, which is now the rootfs itself.
    check(mount(".", "/", nullptr, MS_MOVE, nullptr), "mount", spec.rootfs.c_str());
    check(chroot("."), "chroot", spec.rootfs.c_str());
  } else {
    fail("pivot_root", spec.rootfs.c_str());
  }
  check(chdir("/"), "chdir", "/");
  if (root_fd >= 0) close(root_fd);

  // 6. /proc for the new pid namespace (in a user namespace: step 4c).
  if (!spec.userns()) {
    step = "proc";
    make_dir("/proc", 0555);
    check(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), "mount", "/proc");
  }

  // 7. A minimal /dev on tmpfs: the standard character devices, a private devpts
  //    instance, shm and mqueue (in a user namespace the tmpfs and the device
  //    nodes are there since step 4c).
  step = "dev";
  if (!spec.userns()) {
    make_dir("/dev", 0755);
    check(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"), "mount", "/dev");
    make_device("/dev/null", 1, 3);
    make_device("/dev/zero", 1, 5);
    make_device("/dev/full", 1, 7);
    make_device("/dev/random", 1, 8);
    make_device("/dev/urandom", 1, 9);
    make_device("/dev/tty", 5, 0);
  }
  make_dir("/dev/pts", 0755);
  check(mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"),
        "mount", "/dev/pts");
  make_symlink("pts/ptmx", "/dev/ptmx");
  make_dir("/dev/shm", 01777);
  check(mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k"), "mount",
        "/dev/shm");
  make_dir("/dev/mqueue", 0755);
  check(mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), "mount",
        "/dev/mqueue");
  make_symlink("/proc/self/fd", "/dev/fd");
  make_symlink("/proc/self/fd/0", "/dev/stdin");
  make_symlink("/proc/self/fd/1", "/dev/stdout");
  make_symlink("/proc/self/fd/2", "/dev/stderr");
  make_symlink("/proc/kcore", "/dev/core");
  if (!spec.userns())
    for (const auto& device : spec.devices) make_host_device(device);  // privileged
  int tty = -1;
  if (process.tty) {
    // the terminal comes from the container's own devpts, so its name resolves
    // inside; the monitor gets the master side over the sync socket
    int master = -1;
    char slave[32];
    if (pty_open(process.tty_rows, process.tty_cols, &master, &tty, slave, &failed_call, &failed_path) < 0)
      fail(failed_call, failed_path);
    int console = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    check(console, "open", "/dev/console");
    close(console);
    check(mount(slave, "/dev/console", nullptr, MS_BIND, nullptr), "mount", "/dev/console");
    send_fds('T', &master, 1, "/dev/ptmx");
    close(master);
  }

  // 8. Wait until the monitor says go (sync 1: a bridge network is attached);
  //    nothing so far ran the container's code or needed the network.
  //    EOF here means the monitor is gone.
  step = "sync";
  char go = 0;
  if (read(sync_fd, &go, 1) != 1) _exit(127);

  // 8b. A cgroup namespace rooted at the cgroup we were just placed in.
  step = "cgroupns";
  check(unshare(CLONE_NEWCGROUP), "unshare", nullptr);

  // 8c. The network: join another container's namespace, or bring up lo in
  //     our own (a bridge network's eth0 was added by then: sync 1). Before
  //     /sys, which shows the network namespace of whoever mounts it.
  step = "network";
  //     In a user namespace the monitor cloned us into container:'s namespace.
  if (plan.join_netns_fd >= 0) {
    check(setns(plan.join_netns_fd, CLONE_NEWNET), "setns", spec.network_join.c_str());
  } else if (spec.network_mode != "host" && spec.network_mode != "container") {
    bring_loopback_up();
  }

  // 9. /sys, read-only (read-write when privileged; in a user namespace: step 4c).
  if (!spec.userns()) {
    step = "sys";
    make_dir("/sys", 0555);
    check(mount("sysfs", "/sys", "sysfs", (spec.sys_writable ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr),
          "mount", "/sys");
  }

  // 10. Docker's masked and read-only paths (/proc/kcore, /proc/sys, …).
  step = "masked-paths";
  for (const auto& path : spec.masked_paths) mask_path(path.c_str());
  step = "readonly-paths";
  for (const auto& path : spec.readonly_paths) make_readonly(path.c_str());

  // 11. The working directory exists (Docker creates a missing one).
  step = "cwd";
  make_dirs(process.cwd.c_str());

  // 12. A read-only root, when asked for.
  if (spec.readonly_rootfs) {
    step = "rootfs-readonly";
    check(mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), "mount", "/");
  }

  // 13. Hostname.
  step = "hostname";
  check(sethostname(spec.hostname.c_str(), spec.hostname.size()), "sethostname", nullptr);

  // 14. A session of its own, and stdio: a pipe or /dev/null each, or the pty.
  step = "stdio";
  check(setsid(), "setsid", nullptr);
  if (tty >= 0) {
    check(ioctl(tty, TIOCSCTTY, 0), "ioctl", "TIOCSCTTY");
    for (int target = 0; target < 3; target++) check(dup2(tty, target), "dup2", nullptr);
  } else {
    check(dup2(plan.stdin_fd, 0), "dup2", "stdin");
    check(dup2(plan.stdout_fd, 1), "dup2", "stdout");
    check(dup2(plan.stderr_fd, 2), "dup2", "stderr");
  }

  // 15. Resource limits.
  step = "rlimits";
  check(rlimits_apply(process.rlimits), "setrlimit", nullptr);

  // 15b. The seccomp filter, when no_new_privs is off: installing one then
  //      needs CAP_SYS_ADMIN, which the next steps drop. The rest of the
  //      setup runs under it (Docker's default allows all it calls).
  if (!process.seccomp.empty() && !process.no_new_privileges) load_seccomp(plan);

  // 16. Capabilities, part one: everything outside the kept set leaves the
  //     bounding set; no ambient capabilities; keep the permitted set across setuid.
  step = "capabilities";
  if (credentials_limit_capabilities(process.capabilities, plan.last_capability, &failed_call, &failed_path) < 0)
    fail(failed_call, failed_path);

  // 17. User and groups (resolved from the image's /etc/passwd and /etc/group).
  step = "user";
  if (credentials_set_user(process.uid, process.gid, process.groups, &failed_call, &failed_path) < 0)
    fail(failed_call, failed_path);

  // 18. Capabilities, part two: effective and permitted are the kept set, the
  //     inheritable set is empty. (execve gives a non-root user none of them.)
  step = "capabilities";
  if (credentials_set_capabilities(process.capabilities, &failed_call, &failed_path) < 0)
    fail(failed_call, failed_path);

  // 19. setuid cleared the parent-death signal: set it again, and make sure the
  //     monitor did not die in between.
  step = "sync";
  check(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);
  if (parent_is_gone()) _exit(127);

  // 20. Into the working directory, as the user.
  step = "cwd";
  check(chdir(process.cwd.c_str()), "chdir", process.cwd.c_str());

  // 21. No privilege gained through execve (setuid bits, file capabilities).
  if (process.no_new_privileges) {
    step = "no-new-privileges";
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl", "PR_SET_NO_NEW_PRIVS");
  }

  // 22. Every descriptor but 0-2 closes on exec, the sync socket included: the
  //     monitor reads EOF there exactly when execve succeeded.
  step = "close-fds";
  check(close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), "close_range", nullptr);

  // 22b. The seccomp filter, the last thing before execve (with no_new_privs).
  if (!process.seccomp.empty() && process.no_new_privileges) load_seccomp(plan);

  // 23. The command.
  step = "exec";
  umask(022);
  char candidate[PATH_MAX];
  exec_path_execve(plan.command, candidate, &failed_path);
  fail("execve", failed_path);
}
