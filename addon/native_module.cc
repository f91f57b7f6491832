// The N-API module: the few kernel calls Node itself lacks. Container setup
// does not run here (Node is multi-threaded); it runs in berth-monitor.

#include <napi.h>

#include "device_filter.h"
#include "sealed_executable.h"
#include "listen_query.h"
#include "state_probe.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <string>
#include <system_error>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

Napi::Error system_error(Napi::Env env, int error_number, const char* syscall_name) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall_name) + ": " + strerror(error_number));
  error.Set("errno", Napi::Number::New(env, error_number));
  error.Set("syscall", Napi::String::New(env, syscall_name));
  return error;
}

Napi::Error path_error(Napi::Env env, int error_number, const char* syscall_name, const std::string& path) {
  Napi::Error error = system_error(env, error_number, syscall_name);
  error.Set("path", Napi::String::New(env, path));
  error.Set("message", Napi::String::New(env, std::string(syscall_name) + " `" + path + "`: " + strerror(error_number)));
  return error;
}

// flock(2) on the thread pool, so waiting for a lock never blocks the event loop.
class FlockWorker : public Napi::AsyncWorker {
 public:
  FlockWorker(Napi::Env env, int fd, int operation)
      : Napi::AsyncWorker(env), fd_(fd), operation_(operation), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    while (flock(fd_, operation_) < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      return;
    }
  }
  void OnOK() override {
    if (error_) deferred_.Reject(system_error(Env(), error_, "flock").Value());
    else deferred_.Resolve(Env().Undefined());
  }

 private:
  int fd_, operation_, error_ = 0;
  Napi::Promise::Deferred deferred_;
};

// lock(fd, exclusive): Promise<void> — waits for the lock.
Napi::Value Lock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  auto* worker = new FlockWorker(info.Env(), fd, exclusive ? LOCK_EX : LOCK_SH);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// tryLock(fd, exclusive): boolean — false when another holder has it.
Napi::Value TryLock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  system_error(info.Env(), errno, "flock").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

// The posix_spawn of spawnMonitor, on a thread of its own: a vfork-style
// spawn blocks its caller until the child's execve is done (0.15 ms on an idle
// host, milliseconds when the child waits for a busy CPU), and the Node
// process has the monitor's spec to make meanwhile. Not on libuv's thread
// pool: a start holds the container's lock while it waits for the spawn, and
// pool threads blocked in flock on that lock (lock() below) could fill the
// pool. Everything it needs is copied in on the main thread (the environment
// too: Node may setenv there); the result goes back through a thread-safe
// function, whose callback runs on the main thread.
struct MonitorSpawn {
  std::string path;
  std::vector<std::string> args, environment;
  std::vector<int> child_ends;  // control[1], spec[0], in[0] (or -1), out[1], err[1] (or -1)
  bool want_stdin = false, attach = false;
  int error = 0;
  pid_t pid = -1;
  Napi::Promise::Deferred deferred;
};

void monitor_spawn_run(MonitorSpawn& job) {
  std::vector<char*> argv, envp;
  for (auto& a : job.args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : job.environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (job.want_stdin) posix_spawn_file_actions_adddup2(&actions, job.child_ends[2], 0);
  else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (job.attach) {
    posix_spawn_file_actions_adddup2(&actions, job.child_ends[3], 1);
    posix_spawn_file_actions_adddup2(&actions, job.child_ends[4], 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, job.child_ends[0], 3);
  posix_spawn_file_actions_adddup2(&actions, job.child_ends[1], 4);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);  // Node ignores SIGPIPE; the monitor starts clean
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  job.error = posix_spawn(&job.pid, job.path.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
}

// On the main thread: the child's ends closed, the promise settled.
void monitor_spawn_done(Napi::Env env, Napi::Function, MonitorSpawn* job) {
  for (int fd : job->child_ends)
    if (fd >= 0) close(fd);
  if (job->error == 0) {
    job->deferred.Resolve(Napi::Number::New(env, job->pid));
  } else {
    Napi::Error error = system_error(env, job->error, "posix_spawn");
    error.Set("path", Napi::String::New(env, job->path));
    job->deferred.Reject(error.Value());
  }
  delete job;
}

// spawnMonitor(path, args, { stdin, attach, argv0 }) → { pid: Promise<number>, control, spec, stdin, stdout, stderr }
//
// posix_spawn (vfork-fast; libuv's spawn forks the whole Node process) of a
// detached process in a session of its own, with fresh pipes: fd 3 is the
// control pipe it writes events to; fd 4 the pipe it reads its spec from
// (`spec`: our blocking write end, writable at once: the pipe holds what is
// written until the monitor reads); 0 is a pipe (stdin) or /dev/null; 1 and 2
// are pipes (attach) or /dev/null. Returns our ends (-1 where none) at once,
// and the pid once the spawn on a thread of its own is done (MonitorSpawn).
// The caller reaps the pid with reap() once the control pipe closes. `path` may
// be /proc/self/fd/<n> of a sealed copy (sealExecutable); argv[0] is then
// `argv0`, the file it was copied from.
Napi::Value SpawnMonitor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array js_args = info[1].As<Napi::Array>();
  Napi::Object options = info[2].As<Napi::Object>();
  bool want_stdin = options.Get("stdin").ToBoolean().Value();
  bool attach = options.Get("attach").ToBoolean().Value();
  Napi::Value argv0 = options.Get("argv0");

  std::vector<std::string> args = {argv0.IsString() ? argv0.As<Napi::String>().Utf8Value() : path};
  for (uint32_t i = 0; i < js_args.Length(); i++) args.push_back(js_args.Get(i).As<Napi::String>().Utf8Value());
  std::vector<std::string> environment;
  for (char** e = environ; *e; e++) environment.emplace_back(*e);

  int control[2] = {-1, -1}, spec[2] = {-1, -1}, in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(control, O_CLOEXEC) < 0 || pipe2(spec, O_CLOEXEC) < 0 || (want_stdin && pipe2(in, O_CLOEXEC) < 0) ||
      (attach && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0))) {
    int saved = errno;
    for (int* p : {control, spec, in, out, err})
      for (int i = 0; i < 2; i++)
        if (p[i] >= 0) close(p[i]);
    system_error(env, saved, "pipe2").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* job = new MonitorSpawn{path, std::move(args), std::move(environment), {control[1], spec[0], in[0], out[1], err[1]},
                               want_stdin, attach, 0, -1, Napi::Promise::Deferred::New(env)};
  Napi::Object spawned = Napi::Object::New(env);
  spawned.Set("pid", job->deferred.Promise());
  spawned.Set("control", Napi::Number::New(env, control[0]));
  spawned.Set("spec", Napi::Number::New(env, spec[1]));
  spawned.Set("stdin", Napi::Number::New(env, in[1]));
  spawned.Set("stdout", Napi::Number::New(env, out[0]));
  spawned.Set("stderr", Napi::Number::New(env, err[0]));
  auto done = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "berth-monitor spawn", 0, 1);
  try {
    std::thread([job, done]() mutable {
      monitor_spawn_run(*job);
      done.BlockingCall(job, monitor_spawn_done);
      done.Release();
    }).detach();
  } catch (const std::system_error&) {  // no thread to be had: spawn here, blocking
    monitor_spawn_run(*job);
    monitor_spawn_done(env, Napi::Function(), job);
    done.Release();
  }
  return spawned;
}

// sealExecutable(path, name): number — a sealed, read-only copy of the
// executable at `path` (addon/sealed_executable.h), as a memfd named `name`
// whose descriptor is returned.
Napi::Value SealExecutable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  const char* failed = nullptr;
  int fd = sealed_executable_copy(path, name, &failed);
  if (fd < 0) {
    path_error(env, errno, failed, path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// reap(pid): boolean — waitpid without waiting; true once the child is reaped (or not ours).
Napi::Value Reap(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  pid_t result = waitpid(pid, nullptr, WNOHANG);
  return Napi::Boolean::New(info.Env(), result != 0);
}

// attachDeviceFilter(cgroupDir, rules): cgroup v2's device allow-list as an eBPF program.
// rules: [{ type: 'c'|'b'|'a', major: n|-1, minor: n|-1, access: 'rwm' }]
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Napi::Array js_rules = info[1].As<Napi::Array>();
  std::vector<DeviceRule> rules;
  for (uint32_t i = 0; i < js_rules.Length(); i++) {
    Napi::Object r = js_rules.Get(i).As<Napi::Object>();
    std::string access = r.Get("access").As<Napi::String>().Utf8Value();
    unsigned bits = 0;
    for (char c : access) bits |= c == 'm' ? 1 : c == 'r' ? 2 : c == 'w' ? 4 : 0;
    rules.push_back({r.Get("type").As<Napi::String>().Utf8Value()[0], r.Get("major").As<Napi::Number>().Int64Value(),
                     r.Get("minor").As<Napi::Number>().Int64Value(), bits});
  }
  const char* syscall_name = "bpf";
  if (device_filter_attach(dir, rules, syscall_name) < 0) {
    Napi::Error error = system_error(env, errno, syscall_name);
    error.Set("path", Napi::String::New(env, dir));
    error.ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// ---- files of image layers: what node:fs lacks (device nodes, xattrs without following links)

// mknod(path, mode, major, minor): mode carries the type (S_IFCHR, S_IFBLK, S_IFIFO).
// An overlay whiteout is a character device 0/0.
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  dev_t device = makedev(info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  if (mknod(path.c_str(), mode, device) < 0) path_error(info.Env(), errno, "mknod", path).ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

// setXattr(path, name, value): lsetxattr, so a symlink itself gets it, never its target.
Napi::Value SetXattr(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0) {
    path_error(info.Env(), errno, "lsetxattr", path).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// getXattr(path, name): Buffer, or null when the file has no such attribute.
Napi::Value GetXattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  for (;;) {
    ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA || errno == ENOTSUP) return env.Null();
      path_error(env, errno, "lgetxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::vector<char> value(size);
    ssize_t got = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (got < 0 && errno == ERANGE) continue;  // it grew in between
    if (got < 0) {
      path_error(env, errno, "lgetxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Buffer<char>::Copy(env, value.data(), got);
  }
}

// listXattrs(path): the attribute names of the file itself (llistxattr).
Napi::Value ListXattrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::vector<char> names;
  for (;;) {
    ssize_t size = llistxattr(path.c_str(), nullptr, 0);
    if (size >= 0) {
      names.resize(size);
      size = llistxattr(path.c_str(), names.data(), names.size());
    }
    if (size < 0 && errno == ERANGE) continue;
    if (size < 0 && errno == ENOTSUP) size = 0;
    if (size < 0) {
      path_error(env, errno, "llistxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    names.resize(size);
    break;
  }
  Napi::Array result = Napi::Array::New(env);
  uint32_t count = 0;
  for (size_t start = 0; start < names.size();) {
    size_t end = start;
    while (end < names.size() && names[end] != '\0') end++;
    if (end > start) result.Set(count++, Napi::String::New(env, names.data() + start, end - start));
    start = end + 1;
  }
  return result;
}

// listeningPorts(pid, udp): the ports listening (udp: bound) in the network namespace of pid.
Napi::Value ListeningPorts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string netns = "/proc/" + std::to_string(info[0].As<Napi::Number>().Int32Value()) + "/ns/net";
  std::vector<uint16_t> ports;
  const char* syscall_name = "";
  if (!listen_query(netns, info[1].ToBoolean(), ports, syscall_name)) {
    Napi::Error error = system_error(env, errno, syscall_name);
    error.Set("path", Napi::String::New(env, netns));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env, ports.size());
  for (size_t i = 0; i < ports.size(); i++) result.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ports[i]));
  return result;
}

// ---- the state root, many entries at a time (list() and recovery of many containers)

// readLinks(dir): [name, target, name, target, …] of the symlinks in dir.
Napi::Value ReadLinks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::pair<std::string, std::string>> links;
  if (!state_read_links(dir, links)) {
    path_error(env, errno, "opendir", dir).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env, links.size() * 2);
  uint32_t at = 0;
  for (const auto& [name, target] : links) {
    result.Set(at++, Napi::String::New(env, name));
    result.Set(at++, Napi::String::New(env, target));
  }
  return result;
}

// probeLocks(dir, entries, file): Int32Array, for each entry the state of the
// lock file dir/entry/file: -1 absent, 0 free, 1 + its size when held.
Napi::Value ProbeLocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Napi::Array js_entries = info[1].As<Napi::Array>();
  std::string file = info[2].As<Napi::String>().Utf8Value();
  std::vector<std::string> entries;
  entries.reserve(js_entries.Length());
  for (uint32_t i = 0; i < js_entries.Length(); i++) entries.push_back(js_entries.Get(i).As<Napi::String>().Utf8Value());
  std::vector<int32_t> states;
  if (!state_probe_locks(dir, entries, file, states)) {
    path_error(env, errno, "open", dir).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Int32Array result = Napi::Int32Array::New(env, states.size());
  for (size_t i = 0; i < states.size(); i++) result[i] = states[i];
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter));
  exports.Set("spawnMonitor", Napi::Function::New(env, SpawnMonitor));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("sealExecutable", Napi::Function::New(env, SealExecutable));
  exports.Set("lock", Napi::Function::New(env, Lock));
  exports.Set("tryLock", Napi::Function::New(env, TryLock));
  exports.Set("mknod", Napi::Function::New(env, Mknod));
  exports.Set("setXattr", Napi::Function::New(env, SetXattr));
  exports.Set("getXattr", Napi::Function::New(env, GetXattr));
  exports.Set("listXattrs", Napi::Function::New(env, ListXattrs));
  exports.Set("listeningPorts", Napi::Function::New(env, ListeningPorts));
  exports.Set("readLinks", Napi::Function::New(env, ReadLinks));
  exports.Set("probeLocks", Napi::Function::New(env, ProbeLocks));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_native, Init)
