// berth-exec: a small single-threaded helper for what the multi-threaded Node
// process cannot do itself (setns into a mount namespace, unshare, mount).
//
//   berth-exec exec    run a command inside a running container: its
//                      namespaces, its cgroups, its user and capabilities
//   berth-exec mount   mount a stopped container's overlay in a private mount
//                      namespace, so that Node can open the merged view
//                      through /proc/<pid>/root and work on it by descriptor
//   berth-exec userns-files
//                      chown, chmod, file capabilities and removal of trees
//                      owned by a rootless user's subordinate ids, from a
//                      user namespace with its maps (userns_file_ops.h)
//   berth-exec seccomp compile the seccomp rules on stdin into a BPF program
//                      on stdout (seccomp_compile.h), once per profile and
//                      capability set: Node caches it under the state root
//
// Started by Node (lib/container/exec-helper.ts), from a sealed memfd copy
// (lib/native/addon.ts, docs/architecture.md), with fd 3 a socket: Node
// writes the spec on it (exec_spec.cc), berth-exec answers with one JSON event
// per line:
//   exec:  started {pid}, error {step, syscall, errno, path}, exited {exitCode, signal}
//   mount: (with `userns`: map {pid}, then waits for Node's `mapped`) ready {pid}, error {…}
//   userns-files: map {pid} (then waits for Node's `mapped`), done, error {…}
// After the spec, Node may send `resize` ("rows cols") and `signal` ("n")
// pairs on the same socket.
//
// exec's other descriptors: 0 is the command's stdin (/dev/null, or with the
// spec's `stdin` copied into a pipe of the command's: busybox cat splices a
// socket into a pipe while holding the pipe's lock, so the command is never
// given Node's socket itself); 1 and 2 receive its stdout and stderr, copied
// by berth-exec until the command exits (a background process that keeps the
// pipes open cannot hold the caller). With a tty, 0 and 1 are the terminal's
// input and output.
//
// berth-exec dies with the Node process that started it (PR_SET_PDEATHSIG),
// and the command dies with berth-exec.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <vector>

#include "control_events.h"
#include "exec_path.h"
#include "exec_spec.h"
#include "process_credentials.h"
#include "pty_open.h"
#include "resource_limits.h"
#include "seccomp_compile.h"
#include "seccomp_load.h"
#include "setup_error.h"
#include "state_file.h"
#include "userns_file_ops.h"
#include "userns_own.h"

namespace {

const char* step = "start";  // the step in progress, reported with any failure

void send_error(const char* failed_step, const char* syscall_name, int error_number, const char* path) {
  control_event_send(control_error_event(failed_step, syscall_name, error_number, path));
}

// A failure in berth-exec itself (before the fork, or in the parent).
[[noreturn]] void fail(const char* syscall_name, const char* path) {
  send_error(step, syscall_name, errno, path ? path : "");
  _exit(1);
}

void check(long result, const char* syscall_name, const char* path) {
  if (result < 0) fail(syscall_name, path);
}

// ---------------------------------------------------------------------------
// mount: the overlay of a stopped container, in a mount namespace of our own.

[[noreturn]] void mount_main(const ExecSpec& spec, KeyValueBuffer& control) {
  // 0. Rootless: a user namespace of our own first, mapped by Node with the
  //    rootless maps, which lets us mount an overlay (with userxattr).
  if (spec.userns) {
    step = "userns";
    const char* failed_call = nullptr;
    if (userns_unshare_mapped(control, &failed_call) < 0) fail(failed_call, nullptr);
  }

  // 1. A mount namespace of our own, private: nothing reaches the host's.
  step = "namespace";
  check(unshare(CLONE_NEWNS), "unshare", nullptr);
  step = "propagation";
  check(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "mount", "/");

  // 2. The overlay: read-write with upper and work dirs, or read-only with
  //    only lower dirs (the container's upper dir then counts as the top-most
  //    lower one, so nothing of it is locked).
  step = "rootfs";
  std::string options = "lowerdir=";
  for (size_t i = 0; i < spec.lower_dirs.size(); i++) {
    if (i) options += ':';
    options += spec.lower_dirs[i];
  }
  unsigned long flags = MS_NOSUID | MS_NODEV;
  if (spec.upper_dir.empty()) flags |= MS_RDONLY;
  else options += ",upperdir=" + spec.upper_dir + ",workdir=" + spec.work_dir;
  if (spec.userns) options += ",userxattr";
  check(mount("overlay", spec.target.c_str(), "overlay", flags, options.c_str()), "mount", spec.target.c_str());

  // 3. Node opens the mount through /proc/<our pid>/root and says so by
  //    closing the socket; its descriptor keeps the mount alive after we exit.
  control_event_send("{\"event\":\"ready\",\"pid\":" + std::to_string(getpid()) + "}");
  char buf[256];
  for (;;) {
    ssize_t n = read(kControlFd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  _exit(0);
}

// ---------------------------------------------------------------------------
// exec, the command's side: from fork() to execve(), in the order it happens.
// Nothing here allocates; a failure goes back to berth-exec on the sync socket.

struct ChildPlan {
  const ExecSpec* spec = nullptr;
  ExecCommand command;            // argv, envp and PATH, pointing into spec
  int sync_fd = -1;               // SOCK_SEQPACKET to berth-exec
  int cgroupns_fd = -1;           // the container's cgroup namespace
  int tty_fd = -1;                // the terminal's slave side, with a tty
  int stdin_fd = -1;               // the read end of the stdin pipe, with `stdin`
  int stdout_fd = -1, stderr_fd = -1;
  int last_capability = 40;
  std::string seccomp_program;    // the container's filter (BPF), empty for none
};

[[noreturn]] void child_fail(const ChildPlan& plan, const char* syscall_name, const char* path) {
  setup_error_exit(plan.sync_fd, step, syscall_name, path);
}

void child_check(const ChildPlan& plan, long result, const char* syscall_name, const char* path) {
  if (result < 0) child_fail(plan, syscall_name, path);
}

// The container's seccomp filter (step "seccomp"): see seccomp_load.h for when.
void child_load_seccomp(const ChildPlan& plan) {
  step = "seccomp";
  child_check(plan, seccomp_program_load(plan.seccomp_program), "seccomp", plan.spec->process.seccomp.c_str());
}

[[noreturn]] void exec_child(const ChildPlan& plan) {
  const ProcessSpec& process = plan.spec->process;

  // 1. Die with berth-exec; wait until it has put us in the container's
  //    cgroups (EOF: it is gone).
  step = "sync";
  child_check(plan, prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);
  char go = 0;
  if (read(plan.sync_fd, &go, 1) != 1) _exit(127);

  // 2. Signals as a fresh process has them.
  step = "signals";
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  child_check(plan, sigprocmask(SIG_SETMASK, &none, nullptr), "sigprocmask", nullptr);

  // 3. The container's cgroup namespace, now that we are in its cgroups.
  step = "cgroupns";
  child_check(plan, setns(plan.cgroupns_fd, CLONE_NEWCGROUP), "setns", "cgroup");

  // 4. A session of our own; stdio: the terminal, or stdin as given and the
  //    output pipes.
  step = "stdio";
  child_check(plan, setsid(), "setsid", nullptr);
  if (plan.tty_fd >= 0) {
    child_check(plan, ioctl(plan.tty_fd, TIOCSCTTY, 0), "ioctl", "TIOCSCTTY");
    for (int target = 0; target < 3; target++) child_check(plan, dup2(plan.tty_fd, target), "dup2", nullptr);
  } else {
    if (plan.stdin_fd >= 0) child_check(plan, dup2(plan.stdin_fd, 0), "dup2", "stdin");
    child_check(plan, dup2(plan.stdout_fd, 1), "dup2", "stdout");
    child_check(plan, dup2(plan.stderr_fd, 2), "dup2", "stderr");
  }

  // 5. The container's resource limits.
  step = "rlimits";
  child_check(plan, rlimits_apply(process.rlimits), "setrlimit", nullptr);

  // 5b. The container's seccomp filter, when no_new_privs is off: installing
  //     one then needs CAP_SYS_ADMIN, which the next steps drop.
  if (!plan.seccomp_program.empty() && !process.no_new_privileges) child_load_seccomp(plan);

  // 6. Capabilities, part one: everything outside the container's set leaves
  //    the bounding set; no ambient ones; keep the permitted set across setuid.
  step = "capabilities";
  const char* failed_call = nullptr;
  const char* failed_path = nullptr;
  if (credentials_limit_capabilities(process.capabilities, plan.last_capability, &failed_call, &failed_path) < 0)
    child_fail(plan, failed_call, failed_path);

  // 7. User and groups (resolved from the container's /etc/passwd and /etc/group).
  step = "user";
  if (credentials_set_user(process.uid, process.gid, process.groups, &failed_call, &failed_path) < 0)
    child_fail(plan, failed_call, failed_path);

  // 8. Capabilities, part two: effective = permitted = the container's set,
  //    inheritable empty.
  step = "capabilities";
  if (credentials_set_capabilities(process.capabilities, &failed_call, &failed_path) < 0)
    child_fail(plan, failed_call, failed_path);

  // 9. setuid cleared the parent-death signal: set it again.
  step = "sync";
  child_check(plan, prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);
  pollfd peer = {plan.sync_fd, POLLIN, 0};
  if (poll(&peer, 1, 0) == 1 && (peer.revents & (POLLHUP | POLLERR))) _exit(127);  // berth-exec died

  // 10. The working directory, inside the container, as the user.
  step = "cwd";
  child_check(plan, chdir(process.cwd.c_str()), "chdir", process.cwd.c_str());

  // 11. No privilege gained through execve.
  if (process.no_new_privileges) {
    step = "no-new-privileges";
    child_check(plan, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl", "PR_SET_NO_NEW_PRIVS");
  }

  // 12. Every descriptor but 0-2 closes on exec, the sync socket included:
  //     berth-exec reads EOF there exactly when execve succeeded.
  step = "close-fds";
  child_check(plan, close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), "close_range", nullptr);

  // 12b. The container's seccomp filter, the last thing before execve (with no_new_privs).
  if (!plan.seccomp_program.empty() && process.no_new_privileges) child_load_seccomp(plan);

  // 13. The command.
  step = "exec";
  umask(022);
  char candidate[PATH_MAX];
  exec_path_execve(plan.command, candidate, &failed_path);
  child_fail(plan, "execve", failed_path);
}

// ---------------------------------------------------------------------------
// exec, berth-exec's side.

// Opens /proc/<pid>/ns/<name> of the container's first process.
int open_namespace(int pid, const char* name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  return fd;
}

// True when the namespace `fd` is the one of ours called `name`.
bool same_namespace(int fd, const char* name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/ns/%s", name);
  struct stat theirs, ours;
  return fstat(fd, &theirs) == 0 && stat(path, &ours) == 0 && theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

void check_same_process(const ExecSpec& spec) {
  if (process_start_time(spec.pid) != spec.pid_start_time) {
    errno = ESRCH;  // it exited, and the pid may even be someone else's now
    char path[32];
    snprintf(path, sizeof path, "/proc/%d", spec.pid);
    fail("open", path);
  }
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Relay {
  int from;   // our read end
  int to;     // where it goes: 1 or 2
  bool open;
};

// Copies what `relay.from` has; closes it on EOF (or EIO from a pty whose
// last slave closed). With `drain`, reads until nothing is left, or as much
// as a full pipe holds (pipe-max-size, 1 MiB): a process left behind that
// keeps writing cannot keep us copying.
void pump(Relay& relay, bool drain) {
  char buf[65536];
  for (size_t copied = 0; relay.open && copied <= (1u << 20); ) {
    ssize_t n = read(relay.from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close(relay.from);
      relay.open = false;
      return;
    }
    bool writable = true;
    write_all(relay.to, buf, static_cast<size_t>(n), writable);
    copied += static_cast<size_t>(n);
    if (!drain) return;
  }
}

// Node's stdin (fd 0) into the command's stdin pipe or the pty master,
// without ever blocking: a command that does not read must not stop its
// output from being copied.
struct Input {
  int to = -1;           // non-blocking: the pipe's write end, or the pty master
  bool reading = false;  // fd 0 is still open
  bool tty = false;      // at the end: send ^D instead of closing `to`
  std::string pending;

  bool active() const { return reading || !pending.empty(); }

  void read_some() {
    char buf[65536];
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n > 0) {
      pending.append(buf, static_cast<size_t>(n));
      return;
    }
    reading = false;  // end of input: end of file for the command
    if (tty) pending += '\x04';
  }

  void write_some() {
    ssize_t n = write(to, pending.data(), pending.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n < 0) pending.clear();  // the command closed its stdin
    else pending.erase(0, static_cast<size_t>(n));
    if (pending.empty() && !reading && !tty) {
      close(to);
      to = -1;
    }
  }
};

// `resize` and `signal` records from Node; false once a record is malformed
// (nothing more is read from the control socket then).
bool handle_control(KeyValueBuffer& buffer, int pidfd, int tty_master) {
  std::string key, value, error;
  KeyValueNext next;
  while ((next = key_value_next(buffer, key, value, error)) == KeyValueNext::kRecord) {
    if (key == "resize" && tty_master >= 0) {
      unsigned rows = 0, cols = 0;
      if (sscanf(value.c_str(), "%u %u", &rows, &cols) == 2) {
        winsize size = {static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
        ioctl(tty_master, TIOCSWINSZ, &size);
      }
    } else if (key == "signal") {
      syscall(SYS_pidfd_send_signal, pidfd, atoi(value.c_str()), nullptr, 0);
    }
  }
  return next != KeyValueNext::kMalformed;
}

[[noreturn]] void exec_main(const ExecSpec& spec, KeyValueBuffer& control) {
  const ProcessSpec& process = spec.process;
  ChildPlan plan;
  plan.spec = &spec;
  exec_path_prepare(plan.command, process.args, process.env);
  plan.last_capability = credentials_last_capability();

  // 0. The container's seccomp filter, a file on the host: read before
  //    entering its mount namespace.
  if (!process.seccomp.empty()) {
    step = "seccomp";
    if (seccomp_program_read(process.seccomp, plan.seccomp_program) < 0) fail("open", process.seccomp.c_str());
  }

  // 1. The container's namespaces, from its first process: checked to be the
  //    process that was recorded before and after (a pid can be reused).
  step = "namespaces";
  check_same_process(spec);
  struct Namespace {
    const char* name;
    int type;
    int fd;
  } namespaces[] = {
      {"ipc", CLONE_NEWIPC, -1}, {"uts", CLONE_NEWUTS, -1}, {"net", CLONE_NEWNET, -1},
      {"pid", CLONE_NEWPID, -1}, {"mnt", CLONE_NEWNS, -1},
  };
  for (auto& ns : namespaces) ns.fd = open_namespace(spec.pid, ns.name);
  plan.cgroupns_fd = open_namespace(spec.pid, "cgroup");
  // A container in a user namespace: that one first, which owns the others.
  // A namespace it shares with us (network host) stays as it is: it belongs
  // to the host's user namespace, where we will have no privilege left.
  int userns_fd = -1;
  if (spec.join_userns) {
    userns_fd = open_namespace(spec.pid, "user");
    for (auto& ns : namespaces) {
      if (!same_namespace(ns.fd, ns.name)) continue;
      close(ns.fd);
      ns.fd = -1;
    }
  }
  check_same_process(spec);

  // 2. The container's cgroup.procs files are host paths: open them before
  //    entering its mount namespace.
  step = "cgroup";
  std::vector<int> procs;
  for (const auto& file : spec.cgroup_procs) {
    int fd = open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("open", file.c_str());
    procs.push_back(fd);
  }

  // 3. Into the namespaces (the cgroup one comes after placement, in the
  //    command's process). The pid namespace applies to the children we fork;
  //    the mount namespace makes the container's root our root and cwd.
  step = "namespaces";
  if (userns_fd >= 0) {
    // and its root there, as the container's first process is: host root is
    // not mapped in it, and the pty we open must belong to a mapped id
    check(setns(userns_fd, CLONE_NEWUSER), "setns", "user");
    close(userns_fd);
    check(setresgid(0, 0, 0), "setresgid", nullptr);
    check(setresuid(0, 0, 0), "setresuid", nullptr);
    check(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);  // the change of credentials cleared it
  }
  for (auto& ns : namespaces) {
    if (ns.fd < 0) continue;
    check(setns(ns.fd, ns.type), "setns", ns.name);
    close(ns.fd);
  }

  // 4. Output: a pty from the container's own devpts instance, or two pipes.
  int tty_master = -1;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (process.tty) {
    step = "tty";
    char slave[32];
    const char* failed_call = nullptr;
    const char* failed_path = nullptr;
    if (pty_open(process.tty_rows, process.tty_cols, &tty_master, &plan.tty_fd, slave, &failed_call, &failed_path) < 0)
      fail(failed_call, failed_path);
    check(fchown(plan.tty_fd, process.uid, static_cast<gid_t>(-1)), "fchown", slave);
  } else {
    step = "stdio";
    check(pipe2(out, O_CLOEXEC), "pipe2", nullptr);
    check(pipe2(err, O_CLOEXEC), "pipe2", nullptr);
    plan.stdout_fd = out[1];
    plan.stderr_fd = err[1];
    if (process.open_stdin) {
      check(pipe2(in, O_CLOEXEC), "pipe2", nullptr);
      plan.stdin_fd = in[0];
    }
  }

  // 5. The command's process, in the container's pid namespace.
  step = "fork";
  int sync[2];
  check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync), "socketpair", nullptr);
  plan.sync_fd = sync[1];
  pid_t child = fork();
  check(child, "fork", nullptr);
  if (child == 0) {
    close(sync[0]);
    if (tty_master >= 0) close(tty_master);
    if (in[1] >= 0) close(in[1]);
    if (out[0] >= 0) close(out[0]);
    if (err[0] >= 0) close(err[0]);
    exec_child(plan);
  }
  close(sync[1]);
  if (plan.tty_fd >= 0) close(plan.tty_fd);
  if (in[0] >= 0) close(in[0]);
  if (out[1] >= 0) close(out[1]);
  if (err[1] >= 0) close(err[1]);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (pidfd < 0) {
    int saved = errno;
    kill(child, SIGKILL);
    errno = saved;
    fail("pidfd_open", nullptr);
  }

  /* sync 1. Into the container's cgroups (by our host pid view), then go. */
  step = "cgroup";
  char text[16];
  int len = snprintf(text, sizeof text, "%d", child);
  for (size_t i = 0; i < procs.size(); i++) {
    if (write(procs[i], text, static_cast<size_t>(len)) != len) {
      int saved = errno;
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      errno = saved;
      fail("write", spec.cgroup_procs[i].c_str());
    }
    close(procs[i]);
  }
  char go = 'G';
  if (send(sync[0], &go, 1, MSG_NOSIGNAL) != 1) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    fail("send", nullptr);
  }

  /* sync 2. EOF: execve succeeded and closed the child's end. A message: it failed. */
  SetupError setup_error;
  ssize_t n;
  do n = recv(sync[0], &setup_error, sizeof setup_error, 0);
  while (n < 0 && errno == EINTR);
  close(sync[0]);
  if (n != 0) {
    waitpid(child, nullptr, 0);
    if (n != static_cast<ssize_t>(sizeof setup_error)) {
      send_error("sync", "recv", n < 0 ? errno : EPROTO, "");
      _exit(1);
    }
    setup_error_terminate(setup_error);
    send_error(setup_error.step, setup_error.syscall, setup_error.error_number, setup_error.path);
    _exit(1);
  }
  control_event_send("{\"event\":\"started\",\"pid\":" + std::to_string(child) + "}");

  // Copy output and input until the command exits; then take what is left
  // in the output pipes, and no more.
  step = "relay";
  std::vector<Relay> outputs;
  Input input;
  if (tty_master >= 0) {
    outputs.push_back({tty_master, 1, true});
    close(2);
    input.to = tty_master;
    input.tty = true;
    input.reading = process.open_stdin;
  } else {
    outputs.push_back({out[0], 1, true});
    outputs.push_back({err[0], 2, true});
    input.to = in[1];
    input.reading = process.open_stdin;
  }
  if (input.to >= 0) set_nonblocking(input.to);
  if (!input.reading) close(0);
  bool control_readable = true;
  for (;;) {
    pollfd fds[5];
    Relay* relays[5] = {};
    int count = 0;
    fds[count++] = {pidfd, POLLIN, 0};
    int control_index = -1, input_index = -1;
    if (control_readable) {
      control_index = count;
      fds[count++] = {kControlFd, POLLIN, 0};
    }
    for (auto& o : outputs) {
      if (!o.open) continue;
      relays[count] = &o;
      fds[count++] = {o.from, POLLIN, 0};
    }
    if (input.to >= 0 && input.active()) {
      input_index = count;
      fds[count++] = input.pending.empty() ? pollfd{0, POLLIN, 0} : pollfd{input.to, POLLOUT, 0};
    }
    if (poll(fds, static_cast<nfds_t>(count), -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll", nullptr);
    }
    if (fds[0].revents) break;  // the command exited
    if (control_index >= 0 && fds[control_index].revents) {
      control_readable = key_value_fill(kControlFd, control) > 0 && handle_control(control, pidfd, tty_master);
    }
    if (input_index >= 0 && fds[input_index].revents) {
      if (fds[input_index].fd == 0) {
        input.read_some();
        if (!input.reading) close(0);
      }
      if (!input.pending.empty() || (!input.reading && !input.tty)) input.write_some();
    }
    for (int i = 1; i < count; i++) {
      if (fds[i].revents && relays[i]) pump(*relays[i], false);
    }
  }

  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  for (auto& o : outputs) {
    if (!o.open) continue;
    set_nonblocking(o.from);
    pump(o, true);
  }
  close(1);
  close(2);
  int exit_code = 0, signal_number = 0;
  if (WIFEXITED(status)) {
    exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    signal_number = WTERMSIG(status);
    exit_code = 128 + signal_number;
  }
  control_event_send("{\"event\":\"exited\",\"exitCode\":" + std::to_string(exit_code) +
                     ",\"signal\":" + std::to_string(signal_number) + "}");
  _exit(0);
}

}  // namespace

// berth-exec seccomp: rules on stdin, the BPF program on stdout, an error on stderr.
int seccomp_main() {
  std::string rules;
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("berth-exec seccomp: read");
      return 1;
    }
    if (n == 0) break;
    rules.append(buf, static_cast<size_t>(n));
  }
  std::string error;
  if (seccomp_compile(rules, 1, error) < 0) {
    fprintf(stderr, "berth-exec seccomp: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "seccomp") == 0) return seccomp_main();
  if (argc != 2 || (strcmp(argv[1], "exec") != 0 && strcmp(argv[1], "mount") != 0 && strcmp(argv[1], "userns-files") != 0)) {
    fprintf(stderr, "usage: berth-exec exec|mount|userns-files (the spec comes on fd 3) | berth-exec seccomp (rules on stdin)\n");
    return 2;
  }
  close_range(4, ~0U, 0);  // nothing of the starter's but 0-3
  signal(SIGPIPE, SIG_IGN);
  if (fcntl(kControlFd, F_GETFD) < 0) return 2;

  // Die with the Node process that started us; if it is already gone, so are we.
  step = "start";
  check(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", nullptr);

  // Started from a sealed memfd (lib/native/addon.ts): name ourselves. For
  // exec, non-dumpable before we join the container: until the command's
  // execve (fork keeps the flag, execve sets it back to 1), a process in the
  // container can neither ptrace the command's process nor open its
  // /proc/<pid>/{exe,fd,mem,environ}. (mount never joins a container, and
  // Node opens its /proc/<pid>/root.)
  prctl(PR_SET_NAME, "berth-exec");
  if (strcmp(argv[1], "exec") == 0) check(prctl(PR_SET_DUMPABLE, 0), "prctl", "PR_SET_DUMPABLE");

  step = "spec";
  ExecSpec spec;
  KeyValueBuffer control;
  std::string spec_error;
  if (!exec_spec_read(kControlFd, control, spec, spec_error)) {
    errno = EINVAL;
    fail("read", spec_error.c_str());
  }
  if (spec.mode != argv[1]) {
    errno = EINVAL;
    fail("read", "spec: the mode differs from the command line");
  }
  if (spec.mode == "mount") mount_main(spec, control);
  if (spec.mode == "userns-files") userns_files_main(spec, control);
  exec_main(spec, control);
}
