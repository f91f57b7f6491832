// berth-monitor: one small single-threaded process per running container.
//
//   berth-monitor <container-dir>
//
// Started detached (own session) by lib/container/monitor-process.ts, from a
// sealed memfd copy (docs/architecture.md, "Helpers run from a sealed copy"). It reads
// its spec from fd 4, clones the container's first process into new namespaces
// (container_setup.cc), holds its stdio, writes its output to the log, reaps
// it and records the exit status atomically in <dir>/exit.json. It outlives the
// Node process that started it.
//
// File descriptors from the starter:
//   0  the container's stdin when the spec says `stdin`, else /dev/null
//   1, 2  attached output (copies of stdout/stderr) when the spec says `attach`
//   3  control pipe: one JSON event per line — started, error, exited
//   4  the spec: a pipe Node writes once it has made the cgroups the spec
//      names, ending with an `end` record (spec.cc); closed once read
//
// State it writes in <dir>: monitor.json (its pid, then the container's pid),
// exit.json (exit code, signal, time), container.log. It holds an exclusive
// flock on <dir>/monitor.lock for as long as it lives: a reader proves it
// alive with one open and one flock, no /proc read (monitor.json says
// "livenessLock":true; docs/architecture.md, "Recovery").

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <algorithm>
#include <functional>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup_place.h"
#include "container_setup.h"
#include "control_events.h"
#include "dns_server.h"
#include "fd_passing.h"
#include "log_writer.h"
#include "netns_agent.h"
#include "network_attach.h"
#include "owner_watch.h"
#include "remove_tree.h"
#include "setup_error.h"
#include "slirp_network.h"
#include "spec.h"
#include "state_file.h"
#include "mount_api.h"
#include "userns_setup.h"

namespace {

bool attach_open = true;

[[noreturn]] void fail_before_clone(const char* step, const char* syscall_name, const char* path) {
  control_event_send(control_error_event(step, syscall_name, errno, path ? path : ""));
  _exit(1);
}

// Takes the exclusive flock on <dir>/monitor.lock, kept (never closed) until
// this process exits. Close-on-exec: the container's first process, a clone
// of us, drops it at its execve. Blocking: a reader holds it shared for the
// time of one flock call. Returns the descriptor.
int hold_liveness_lock(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail_before_clone("state", "open", path.c_str());
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) fail_before_clone("state", "flock", path.c_str());
  return fd;
}

// The lock file's size tells a reader holding no file content what the
// monitor is doing (lib/container/container-state.ts): kLockRunning while the
// command runs (from the monitor.json that names its pid until just before
// exit.json), so list() needs no monitor.json read for a running container;
// kLockExited from then until we have let go of the container's root
// (root_hold in main) and removed its cgroups, which a start or remove()
// waits for; 0 otherwise.
constexpr off_t kLockRunning = 1;
constexpr off_t kLockExited = 2;
void mark_lock(int lock_fd, off_t state) {
  if (lock_fd >= 0) (void)ftruncate(lock_fd, state);
}

// What the monitor holds of a run's container from its start until after
// its exit is reported (see root_hold in main).
struct RunHold {
  int root = -1;      // /proc/<pid>/root: the overlay
  int mount_ns = -1;  // /proc/<pid>/ns/mnt: the mount namespace
};

// Takes hold of the running container's root and mount namespace.
void hold_run(RunHold& hold, int pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  hold.root = open((proc + "/root").c_str(), O_PATH | O_CLOEXEC);
  hold.mount_ns = open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
}

// Lets go of the container's root and mount namespace (see root_hold in
// main): the namespace's mounts are torn down, the overlay shut down and the
// upper filesystem synced, here.
void release_root(RunHold& hold) {
  for (int* fd : {&hold.mount_ns, &hold.root}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

int dup_high(int fd) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (copy < 0) fail_before_clone("stdio", "fcntl", nullptr);
  return copy;
}

// [{"proto":"tcp","hostIp":"127.0.0.1","hostPort":34567,"containerPort":80}, …]
std::string ports_json(const std::vector<PortMapping>& ports) {
  std::string j = "[";
  for (const auto& m : ports) {
    if (j.size() > 1) j += ",";
    j += std::string("{\"proto\":\"") + (m.udp ? "udp" : "tcp") + "\",\"hostIp\":\"" + m.host_ip +
         "\",\"hostPort\":" + std::to_string(m.host_port) + ",\"containerPort\":" + std::to_string(m.container_port) + "}";
  }
  return j + "]";
}

std::string monitor_record(int monitor_pid, int container_pid, const std::string& started_at, int restarts,
                           const std::string& ports = "[]") {
  std::string j = "{\"monitorPid\":" + std::to_string(monitor_pid) +
                  ",\"monitorStartTime\":" + std::to_string(process_start_time(monitor_pid)) + ",\"livenessLock\":true";
  if (container_pid > 0) {
    j += ",\"pid\":" + std::to_string(container_pid) +
         ",\"pidStartTime\":" + std::to_string(process_start_time(container_pid)) + ",\"startedAt\":\"" +
         started_at + "\",\"restartCount\":" + std::to_string(restarts) + ",\"ports\":" + ports;
  }
  return j + "}\n";
}

// One message from the child: 0 bytes (EOF: exec'd), 1 byte 'T' with a
// descriptor (the pty master, stored in *fd), or a SetupError.
ssize_t receive_setup_message(int sync_fd, SetupError& error, int* fd) {
  int passed = -1;
  size_t received = 0;
  ssize_t n = receive_with_fds(sync_fd, &error, sizeof error, &passed, 1, received);
  if (received == 1 && fd) *fd = passed;
  else if (received >= 1) close(passed);  // (those past the first were closed on receipt)
  return n;
}

// A container with its own user namespace (the spec's uid-map keys) and a
// network namespace of its own gets a netns agent for every run
// (netns_agent.h). With `host` or `container:` the network namespace is not
// one its user namespace owns (the agent could not join it), and nothing is
// published into it.
bool wants_netns_agent(const Spec& spec) {
  const bool own_netns = spec.network_mode == "none" || spec.network_mode == "bridge" || spec.network_mode == "slirp4netns";
  return spec.userns() && own_netns;
}

struct Output {
  int fd;       // read end
  int stream;   // 0 stdout, 1 stderr
};


// One run of the container's first process: its pid (or -1 and the error
// event), and our ends of its output.
struct RunStart {
  int pid = -1;
  std::string error_event;
  Output outputs[2] = {{-1, 0}, {-1, 1}};
  int tty_master = -1;
};

// What the monitor does while the child it just cloned sets itself up (the
// mounts take milliseconds): false with errno and the failed step, call and
// path, and the child is abandoned.
using WhileChildSetsUp = std::function<bool(const char*& step, const char*& syscall_name, const char*& path)>;

// Clones the container's first process and takes it through the sync points.
RunStart start_container(const Spec& spec, DnsServer& dns, NetnsAgent& agent, Slirp4netns& slirp,
                          const WhileChildSetsUp& meanwhile) {
  RunStart run;
  // The container's stdio: pipes for stdout and stderr, stdin passed through
  // or /dev/null. With a tty the child opens the pty in its own devpts instead
  // and sends us the master side (sync 2).
  ChildPlan plan;
  child_plan_prepare(plan, spec);
  plan.send_namespaces = wants_netns_agent(spec);  // for the netns agent, at sync 1
  auto fail = [&](const char* step, const char* syscall_name, const char* path) {
    run.error_event = control_error_event(step, syscall_name, errno, path ? path : "");
    for (int fd : {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd, run.outputs[0].fd, run.outputs[1].fd})
      if (fd >= 0) close(fd);
    run.pid = -1;
    return run;
  };
  if (!spec.process.tty) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return fail("stdio", "pipe2", nullptr);
    // a larger stdout pipe: a chatty container blocks (and wakes us) less
    // often; the kernel's per-user pipe limit may refuse, which is harmless
    fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
    run.outputs[0].fd = out[0];
    run.outputs[1].fd = err[0];
    plan.stdout_fd = dup_high(out[1]);
    plan.stderr_fd = dup_high(err[1]);
    close(out[1]);
    close(err[1]);
    if (spec.process.open_stdin) {
      plan.stdin_fd = dup_high(0);
    } else {
      int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null_fd < 0) return fail("stdio", "open", "/dev/null");
      plan.stdin_fd = dup_high(null_fd);
      close(null_fd);
    }
  }

  int sync[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) return fail("clone", "socketpair", nullptr);
  plan.sync_fd = sync[1];

  // The container's first process, in new pid, mount, uts, ipc and net
  // namespaces; on cgroup v2 born in its cgroup (clone3 CLONE_INTO_CGROUP).
  // With id maps also in a new user namespace, which then owns the others.
  clone_args args = {};
  args.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (spec.userns()) args.flags |= CLONE_NEWUSER;
  if (spec.network_mode == "none" || spec.network_mode == "bridge" || spec.network_mode == "slirp4netns")
    args.flags |= CLONE_NEWNET;
  if (!spec.network_join.empty()) {
    plan.join_netns_fd = open(spec.network_join.c_str(), O_RDONLY | O_CLOEXEC);
    if (plan.join_netns_fd < 0) {
      close(sync[0]);
      close(sync[1]);
      return fail("network", "open", spec.network_join.c_str());
    }
  }
  // A child in a user namespace of its own could not join another
  // container's network namespace (its user namespace does not own it): the
  // monitor enters it for the clone, and the child is born there.
  // Nor mount a sysfs there: with map-with write the monitor makes one
  // meanwhile (a detached mount, tagged with that namespace), sent along at
  // step userns.
  int own_netns = -1, sysfs_fd = -1;
  if (spec.userns() && plan.join_netns_fd >= 0) {
    own_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const char* failed_call = own_netns < 0 ? "open" : "setns";
    bool ok = own_netns >= 0 && setns(plan.join_netns_fd, CLONE_NEWNET) == 0;
    if (ok && plan.sysfs_from_monitor) {
      const __u64 readonly = spec.sys_writable ? 0 : kMountAttrReadOnly;
      sysfs_fd = mount_new_detached("sysfs", readonly | kMountAttrNoSuid | kMountAttrNoDev | kMountAttrNoExec);
      if (sysfs_fd < 0) {
        failed_call = "fsmount";
        int saved = errno;
        if (setns(own_netns, CLONE_NEWNET) < 0) _exit(125);
        errno = saved;
        ok = false;
      }
    }
    if (!ok) {
      if (own_netns >= 0) close(own_netns);
      close(plan.join_netns_fd);
      close(sync[0]);
      close(sync[1]);
      return fail("network", failed_call, spec.network_join.c_str());
    }
    close(plan.join_netns_fd);
    plan.join_netns_fd = -1;
  }
  args.exit_signal = SIGCHLD;
  int cgroup_fd = -1;
  if (!spec.cgroup_dir.empty()) {
    cgroup_fd = open(spec.cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      close(sync[0]);
      close(sync[1]);
      return fail("cgroup", "open", spec.cgroup_dir.c_str());
    }
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<__u64>(cgroup_fd);
  }
  long child = syscall(SYS_clone3, &args, sizeof args);
  if (child == 0) {
    close(sync[0]);
    for (auto& o : run.outputs)
      if (o.fd >= 0) close(o.fd);
    container_setup_and_exec(plan);
  }
  int clone_errno = errno;
  if (own_netns >= 0) {  // back to our own network namespace
    if (setns(own_netns, CLONE_NEWNET) < 0) _exit(125);  // cannot happen to a root monitor
    close(own_netns);
  }
  close(sync[1]);
  if (plan.join_netns_fd >= 0) close(plan.join_netns_fd);
  if (cgroup_fd >= 0) close(cgroup_fd);
  for (int* fd : {&plan.stdout_fd, &plan.stderr_fd, &plan.stdin_fd}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (child < 0) {
    if (sysfs_fd >= 0) close(sysfs_fd);
    close(sync[0]);
    errno = clone_errno;
    return fail("clone", "clone3", spec.cgroup_dir.empty() ? nullptr : spec.cgroup_dir.c_str());
  }
  const int pid = static_cast<int>(child);
  // A failure at sync 1 may follow the child's own: it mounts meanwhile
  // (container_setup.cc, steps 3-7) and ends at a failed mount. The error
  // it sent, if any, is the one to report.
  auto abandon = [&](const char* step, const char* syscall_name, const char* path) {
    int saved = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    SetupError child_error;
    int passed_fd = -1;
    // The child is gone, so a read does not wait. A peer that closed with a
    // message of ours unread leaves ECONNRESET pending on this socket: the
    // first read reports (and clears) it, the next one gets the child's error.
    ssize_t got = -1;
    for (int attempt = 0; attempt < 2 && got < 0; attempt++) {
      pollfd pending = {sync[0], POLLIN, 0};
      if (poll(&pending, 1, 0) != 1) break;
      got = receive_setup_message(sync[0], child_error, &passed_fd);
      if (got < 0 && errno != ECONNRESET) break;
    }
    const bool child_failed = got == static_cast<ssize_t>(sizeof child_error);
    if (passed_fd >= 0) close(passed_fd);
    close(sync[0]);
    if (child_failed) {
      setup_error_terminate(child_error);
      errno = child_error.error_number;
      return fail(child_error.step, child_error.syscall, child_error.path);
    }
    errno = saved;
    return fail(step, syscall_name, path);
  };

  /* In a user namespace: the child waits (step 2b) for its id maps and, with
     map-with write, the rootfs and its bind mounts' sources. */
  if (spec.userns()) {
    UsernsFailure failure;
    std::vector<int> prepared;
    if (!userns_write_maps(spec, pid, failure) ||
        (plan.rootfs_from_monitor && !userns_prepare_mounts(spec, pid, plan.overlay_options, prepared, failure))) {
      if (sysfs_fd >= 0) close(sysfs_fd);
      errno = failure.error_number;
      return abandon("userns", failure.syscall, failure.path.c_str());
    }
    if (sysfs_fd >= 0) prepared.push_back(sysfs_fd);
    if (!userns_release_child(sync[0], prepared)) return abandon("sync", "sendmsg", nullptr);
  }

  const char *meanwhile_step = nullptr, *meanwhile_call = nullptr, *meanwhile_path = nullptr;
  if (!meanwhile(meanwhile_step, meanwhile_call, meanwhile_path)) return abandon(meanwhile_step, meanwhile_call, meanwhile_path);

  /* sync 1. The child joins its cgroups and mounts its filesystems meanwhile,
     then waits here until the network is in place. */
  std::string failed_path;
  // bridge networks: a veth pair from each bridge into the new namespace
  if (!network_run_ip(spec.network_host_commands, pid, 0)) return abandon("network", "ip", "host side");
  if (!network_run_ip(spec.network_container_commands, pid, pid)) return abandon("network", "ip", "container side");
  // its own user namespace: the agent that makes our sockets in its network namespace
  if (plan.send_namespaces && !agent.start(sync[0])) return abandon("network", "netns-agent", nullptr);
  // slirp4netns mode: tap0 is up before the command runs
  if (!slirp.start(spec, pid, agent, failed_path)) return abandon("network", "slirp4netns", failed_path.c_str());
  // the embedded DNS server's sockets, in the new namespace before anything there asks
  if (!dns.listen_in(pid, failed_path)) return abandon("dns", "bind", failed_path.c_str());
  char go = 'G';
  if (send(sync[0], &go, 1, MSG_NOSIGNAL) != 1) return abandon("sync", "send", nullptr);

  /* sync 2. With a tty: a 'T' message carrying the pty master. */
  SetupError setup_error;
  ssize_t n = receive_setup_message(sync[0], setup_error, spec.process.tty ? &run.tty_master : nullptr);
  if (n < 0 && errno == ECONNRESET) {
    // The child ended without reading 'G' (it failed during the mounts it
    // makes before sync 1): the kernel reports that first, and its error
    // message is still queued behind it. No message at all is a failure too.
    n = receive_setup_message(sync[0], setup_error, nullptr);
    if (n == 0) {
      n = -1;
      errno = ECONNRESET;
    }
  }
  if (n == 1 && run.tty_master >= 0) {
    run.outputs[0].fd = run.tty_master;
    n = receive_setup_message(sync[0], setup_error, nullptr);
  }
  /* sync 3. EOF: execve succeeded and closed the child's end. A message: setup failed. */
  close(sync[0]);
  if (n != 0) {
    waitpid(pid, nullptr, 0);
    if (run.tty_master >= 0) close(run.tty_master);
    run.outputs[0].fd = -1;
    if (n != static_cast<ssize_t>(sizeof setup_error)) {
      errno = n < 0 ? errno : EPROTO;
      return fail("sync", "recv", nullptr);
    }
    setup_error_terminate(setup_error);
    errno = setup_error.error_number;
    return fail(setup_error.step, setup_error.syscall, setup_error.path);
  }
  run.pid = pid;
  return run;
}

// Copies output to the log (and to the attached reader) until every writer is
// gone. When the container's init exits the kernel kills the rest of its pid
// namespace, so the pipes close.
void pump_output(const Spec& spec, RunStart& run, LogWriter& log, PortForwarder& forwarder, DnsServer& dns,
                 OwnerWatch& owner, HealthChecker& health) {
  bool forward_stdin = spec.process.tty && spec.process.open_stdin;  // our stdin is read
  // Input the terminal has not taken yet. A command that does not read its
  // input must not stop us: the master is non-blocking, and no more is read
  // from our stdin while this much waits.
  std::string to_tty;
  constexpr size_t kTtyInputLimit = 64 * 1024;
  if (forward_stdin) fcntl(run.tty_master, F_SETFL, fcntl(run.tty_master, F_GETFL) | O_NONBLOCK);
  // Output the attached reader (Node) has not taken yet. A reader that does
  // not read must not stop us either: our ends of its pipes are non-blocking,
  // and a stream with output waiting is not read from meanwhile (the
  // container's writes wait, as they would on the full pipe).
  std::string to_attach[2];
  if (spec.attach)
    for (int fd : {1, 2}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  auto send_attached = [&](int stream) {
    std::string& out = to_attach[stream];
    ssize_t w = attach_open ? write(1 + stream, out.data(), out.size()) : -1;
    if (w > 0) {
      out.erase(0, static_cast<size_t>(w));
    } else if (!attach_open || (errno != EAGAIN && errno != EINTR)) {  // the reader went away: carry on without it
      attach_open = false;
      out.clear();
    }
  };
  char buf[65536];
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    Output* polled[6] = {};
    for (auto& o : run.outputs) {
      if (o.fd < 0) continue;
      polled[fds.size()] = &o;
      fds.push_back({to_attach[o.stream].empty() ? o.fd : -1, POLLIN, 0});
    }
    int attach_index[2] = {-1, -1};
    for (int stream : {0, 1}) {
      if (to_attach[stream].empty()) continue;
      attach_index[stream] = static_cast<int>(fds.size());
      fds.push_back({1 + stream, POLLOUT, 0});
    }
    if (fds.empty()) break;  // the container's output closed, and all of it went to the attached reader
    int stdin_index = -1, tty_index = -1;
    if (run.tty_master >= 0 && run.outputs[0].fd < 0) {  // the terminal closed
      forward_stdin = false;
      to_tty.clear();
    }
    if (forward_stdin && to_tty.size() < kTtyInputLimit) {
      stdin_index = static_cast<int>(fds.size());
      fds.push_back({0, POLLIN, 0});
    }
    if (!to_tty.empty()) {
      tty_index = static_cast<int>(fds.size());
      fds.push_back({run.tty_master, POLLOUT, 0});
    }
    const int count = static_cast<int>(fds.size());
    forwarder.add_pollfds(fds);
    const size_t dns_index = fds.size();
    dns.add_pollfds(fds);
    const size_t owner_index = fds.size();
    owner.add_pollfd(fds);
    const size_t health_index = fds.size();
    health.add_pollfds(fds);
    int timeout_ms = -1;  // the nearest deadline of the three, or none
    for (int ms : {forwarder.next_timeout_ms(), dns.next_timeout_ms(), health.next_timeout_ms()})
      if (ms >= 0 && (timeout_ms < 0 || ms < timeout_ms)) timeout_ms = ms;
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    // the owner exited: the container goes too (its pid namespace dies with its first process)
    if (owner.handle(fds.data() + owner_index, health_index - owner_index)) kill(run.pid, SIGKILL);
    health.handle(fds.data() + health_index, fds.size() - health_index);
    forwarder.handle(fds.data() + count, dns_index - static_cast<size_t>(count));
    dns.handle(fds.data() + dns_index, owner_index - dns_index);
    for (int i = 0; i < count; i++) {
      if (!fds[i].revents) continue;
      if (i == stdin_index) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r > 0) to_tty.append(buf, static_cast<size_t>(r));
        else if (!(r < 0 && (errno == EINTR || errno == EAGAIN))) forward_stdin = false;  // what was read still goes
        continue;
      }
      if (i == attach_index[0] || i == attach_index[1]) {
        send_attached(i == attach_index[0] ? 0 : 1);
        continue;
      }
      if (i == tty_index) {
        ssize_t w = write(run.tty_master, to_tty.data(), to_tty.size());
        if (w > 0) to_tty.erase(0, static_cast<size_t>(w));
        else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          forward_stdin = false;
          to_tty.clear();
        }
        continue;
      }
      Output& o = *polled[i];
      ssize_t r = read(o.fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {  // EOF, or EIO from a pty whose last slave closed
        log.flush(o.stream);
        close(o.fd);
        o.fd = -1;
        continue;
      }
      log.write(o.stream, buf, static_cast<size_t>(r));
      if (spec.attach && attach_open) {
        to_attach[o.stream].append(buf, static_cast<size_t>(r));
        send_attached(o.stream);
      }
    }
  }
}

bool stopped_by_user(const Spec& spec) {
  return !spec.stop_marker.empty() && access(spec.stop_marker.c_str(), F_OK) == 0;
}

// The restart policy: no, on-failure[:max], always, unless-stopped. A stop
// or kill by the user (the stop marker) ends every policy.
bool should_restart(const Spec& spec, int exit_code, int restarts, OwnerWatch& owner) {
  if (owner.gone()) return false;
  if (spec.restart_policy.empty() || spec.restart_policy == "no" || stopped_by_user(spec)) return false;
  if (spec.restart_policy == "on-failure") {
    return exit_code != 0 && (spec.restart_max == 0 || restarts < static_cast<int>(spec.restart_max));
  }
  return spec.restart_policy == "always" || spec.restart_policy == "unless-stopped";
}

// Sleeps `ms` in small steps; false when the user stopped the container meanwhile.
bool backoff_unless_stopped(const Spec& spec, int ms, OwnerWatch& owner) {
  for (int waited = 0; waited < ms; waited += 10) {
    if (stopped_by_user(spec)) return false;
    if (owner.wait(10)) return false;
    if (!owner.active()) usleep(10 * 1000);
  }
  return !stopped_by_user(spec);
}

}  // namespace

constexpr int kSpecFd = 4;  // the spec, from Node (lib/container/monitor-process.ts)

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: berth-monitor <container-dir>\n");
    return 2;
  }
  close_range(kSpecFd + 1, ~0U, 0);  // nothing of the starter's but 0-4
  // Started from a sealed memfd (lib/native/addon.ts): name ourselves, and
  // stay non-dumpable. Each container's first process is a clone of us and
  // inherits both until its execve, so a process of the container can
  // neither ptrace it nor open its /proc/<pid>/{exe,fd,mem} before then;
  // execve makes the command dumpable again as the kernel does for any exec.
  prctl(PR_SET_NAME, "berth-monitor");
  if (prctl(PR_SET_DUMPABLE, 0) < 0) fail_before_clone("start", "prctl", "PR_SET_DUMPABLE");
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  if (fcntl(kControlFd, F_GETFD) < 0) control_events_disable();

  const std::string dir = argv[1];
  // the lock first, while Node writes the spec: a new container's lock file is
  // a new inode, slow to make on a busy disk
  const int lock_fd = hold_liveness_lock(dir + "/monitor.lock");
  mark_lock(lock_fd, 0);  // a monitor killed while its command ran left its mark
  Spec spec;
  std::string spec_error;
  // Node writes the spec while we start (it makes the cgroups meanwhile);
  // a Node process gone or failing before it is whole closes the pipe
  // without `end`: nothing was started, nothing to undo
  const bool spec_read_ok = spec_read(kSpecFd, spec, spec_error);
  close(kSpecFd);
  if (!spec_read_ok) {
    errno = EINVAL;
    fail_before_clone("spec", "read", spec_error.c_str());
  }
  const int monitor_pid = getpid();
  if (chdir("/") < 0) fail_before_clone("state", "chdir", "/");
  HealthChecker health;
  std::string health_failed;
  if (!health.prepare(spec.health, health_failed)) fail_before_clone("health", "open", health_failed.c_str());
  OwnerWatch owner;
  if (!owner.open(spec)) {  // the owner is gone already: nothing runs, nothing stays
    control_event_send(control_error_event("owner", "pidfd_open", ESRCH, ""));
    owner_remove_container(spec, false);
    return 1;
  }

  // Every image layer must be there before we ask overlayfs for them.
  for (const auto& lower : spec.lower_dirs) {
    struct stat st;
    if (stat(lower.c_str(), &st) < 0) fail_before_clone("rootfs", "stat", lower.c_str());
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      fail_before_clone("rootfs", "stat", lower.c_str());
    }
  }

  // monitor.json (a start is under way: our pid) and the log, made while the
  // first run's child sets itself up: files are slow to create on a busy disk
  // (each is a new inode), and nothing before the clone needs them.
  LogWriter log;
  bool first_run = true;
  const WhileChildSetsUp first_files = [&](const char*& step, const char*& syscall_name, const char*& path) {
    if (!first_run) return true;
    first_run = false;
    step = "state", syscall_name = "write", path = spec.pid_path.c_str();
    if (!spec.pid_path.empty() && !state_file_write(spec.pid_path, monitor_record(monitor_pid, 0, "", 0))) return false;
    step = "log", syscall_name = "open", path = spec.log_path.c_str();
    if (!spec.log_path.empty() && !log.open(spec.log_path, spec.log_max_bytes, spec.log_max_files)) return false;
    // the files of the writes to come on the paths start() and wait() wait
    // along (monitor.json once the command runs, exit.json): made now
    if (!spec.pid_path.empty()) state_file_prepare(spec.pid_path);
    if (!spec.exit_path.empty()) state_file_prepare(spec.exit_path);
    return true;
  };

  // Published ports are bound before anything runs: a port in use fails the start.
  PortForwarder forwarder;
  std::string failed_port;
  if (!forwarder.listen_all(spec.ports, failed_port)) fail_before_clone("ports", "bind", failed_port.c_str());
  DnsServer dns;
  dns.configure(spec.dns_names, spec.dns_forward);
  NetnsAgent agent;   // per run, when the container has its own user namespace
  Slirp4netns slirp;  // per run, in slirp4netns mode

  unsigned long oom_kills_before = 0;  // the OOM count when the last run started
  bool oom_killed = false;              // in the last run
  int restarts = 0;
  std::string started_at;
  int exit_code = 0, signal_number = 0;
  // The container's root, held from its start to after its exit is reported:
  // the last reference to an overlay mount shuts it down, and that syncs the
  // whole upper filesystem (the state root's), milliseconds on a busy host.
  // Held here, the sync happens when we let go, after exit.json and the
  // exited event, not in the container's exit that waitpid waits for. So does
  // the mount namespace's teardown (every mount of the container unmounted,
  // which waits for an expedited RCU grace period) that the exit of its last
  // process would do: we hold the namespace too.
  RunHold root_hold;
  for (;;) {
    oom_kills_before = cgroup_oom_kills(spec.oom_counter);
    RunStart run = start_container(spec, dns, agent, slirp, first_files);
    if (run.pid < 0) {
      slirp.stop();
      agent.stop();
      if (restarts == 0) {  // the first start failed: the caller gets the error
        control_event_send(run.error_event);
        return 1;
      }
      exit_code = 127;  // a restart that cannot start counts as a failure
      signal_number = 0;
    } else {
      if (restarts == 0) started_at = time_now_rfc3339();
      if (!spec.pid_path.empty())
        state_file_write(spec.pid_path, monitor_record(monitor_pid, run.pid, started_at, restarts, ports_json(spec.ports)));
      mark_lock(lock_fd, kLockRunning);
      if (restarts == 0)
        control_event_send("{\"event\":\"started\",\"pid\":" + std::to_string(run.pid) + ",\"startedAt\":\"" +
                           started_at + "\",\"ports\":" + ports_json(spec.ports) + "}");
      forwarder.set_container_netns(open(("/proc/" + std::to_string(run.pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
      hold_run(root_hold, run.pid);
      health.run_started(run.pid);
      pump_output(spec, run, log, forwarder, dns, owner, health);
      health.run_ended();
      forwarder.drop_connections();
      dns.end_run();
      slirp.stop();
      agent.stop();
      int status = 0;
      while (waitpid(run.pid, &status, 0) < 0 && errno == EINTR) {
      }
      exit_code = signal_number = 0;
      if (WIFEXITED(status)) {
        exit_code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        signal_number = WTERMSIG(status);
        exit_code = 128 + signal_number;
      }
    }
    oom_killed = cgroup_oom_kills(spec.oom_counter) > oom_kills_before;
    if (!should_restart(spec, exit_code, restarts, owner)) break;
    release_root(root_hold);  // the next run mounts the same upper and work directories
    // a back-off like Docker's: 100 ms, doubling, at most 3.2 s; a stop meanwhile ends it
    if (!backoff_unless_stopped(spec, 100 << (restarts < 5 ? restarts : 5), owner)) break;
    restarts++;
  }
  log.close();
  if (spec.attach) {
    close(1);
    close(2);
  }

  std::string exit_record = "{\"exitCode\":" + std::to_string(exit_code) +
                            ",\"signal\":" + std::to_string(signal_number) +
                            ",\"oomKilled\":" + (oom_killed ? "true" : "false") +
                            ",\"restartCount\":" + std::to_string(restarts) + ",\"startedAt\":\"" + started_at +
                            "\",\"finishedAt\":\"" + time_now_rfc3339() + "\"}";
  mark_lock(lock_fd, kLockExited);
  state_file_write(spec.exit_path, exit_record + "\n");
  control_event_send("{\"event\":\"exited\"," + exit_record.substr(1));
  // What is left to do once the exit is reported (a start or remove() waits
  // for the lock's mark to go): let go of the root, remove the cgroups.
  release_root(root_hold);  // before anything removes the directories under it
  const bool cgroups_gone = cgroup_remove(spec.cgroup_remove);
  mark_lock(lock_fd, 0);
  // (a cgroup that would not go away keeps the container: the next remove()
  // or Runtime.open() finds it through cgroup.json and tries again)
  if (!spec.auto_remove_dir.empty() && cgroups_gone) {
    // Docker's --rm: the name first, so it is free the moment the container is gone
    unlink(spec.auto_remove_name.c_str());
    remove_tree(spec.auto_remove_dir);
  } else if (cgroups_gone) {
    owner_linger_then_remove(spec, owner);  // owner-bound: removed when the owner exits
  }
  return 0;
}
