#include "health_check.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control_events.h"
#include "key_value_file.h"
#include "log_writer.h"
#include "sealed_executable.h"
#include "state_file.h"

namespace {

constexpr size_t kMaxOutput = 4096;  // Docker keeps at most 4 KiB of a check's output
constexpr size_t kLogEntries = 5;    // and the last five results
constexpr size_t kMaxEvents = 64 * 1024;  // berth-exec's few event lines, with room to spare

long long monotonic_ms() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}


// The exit code in berth-exec's `exited` event, or -1 (it failed to start the test).
int exit_code_from_events(const std::string& events) {
  size_t at = events.find("\"event\":\"exited\"");
  if (at == std::string::npos) return -1;
  size_t code = events.find("\"exitCode\":", at);
  if (code == std::string::npos) return -1;
  const long value = strtol(events.c_str() + code + 11, nullptr, 10);  // (atoi's overflow is undefined)
  return value < 0 || value > 255 ? -1 : static_cast<int>(value);
}

void append_result_json(std::string& j, const char* name, const std::string& value) {
  j += std::string("\"") + name + "\":\"";
  json_escape(j, value.data(), value.size());
  j += "\"";
}

}  // namespace

bool HealthChecker::prepare(const HealthSpec& spec, std::string& failed) {
  if (!spec.enabled()) return true;
  spec_ = spec;
  // the test's process, as Node wrote it (lib/container/healthcheck.ts):
  // taken record by record, so only whole, well-formed records are passed on
  KeyValueBuffer data;
  if (!key_value_read_file(spec.exec_spec_path.c_str(), data, 16u << 20)) {
    failed = spec.exec_spec_path;
    return false;
  }
  std::string key, value, error;
  KeyValueNext next;
  while ((next = key_value_next(data, key, value, error)) == KeyValueNext::kRecord) key_value_append(exec_spec_, key, value);
  if (next == KeyValueNext::kMalformed || key_value_pending(data)) {
    errno = EINVAL;
    failed = spec.exec_spec_path;
    return false;
  }
  const char* call = nullptr;
  exec_fd_ = sealed_executable_copy(spec.exec_path, "berth-exec", &call);
  if (exec_fd_ < 0) {
    failed = spec.exec_path;
    return false;
  }
  return true;
}

void HealthChecker::run_started(int pid) {
  if (!active()) return;
  container_pid_ = pid;
  container_start_time_ = process_start_time(pid);
  run_started_ms_ = monotonic_ms();
  status_ = "starting";
  failing_streak_ = 0;
  const unsigned long long first = spec_.start_period_ms > 0 ? spec_.start_interval_ms : spec_.interval_ms;
  next_check_ms_ = run_started_ms_ + static_cast<long long>(first);
  write_state();
}

void HealthChecker::run_ended() {
  stop_check();
  container_pid_ = -1;
  next_check_ms_ = -1;
}

void HealthChecker::stop_check() {
  if (helper_pid_ > 0) {
    kill(helper_pid_, SIGKILL);  // the test dies with it (PR_SET_PDEATHSIG)
    while (waitpid(helper_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  for (int* fd : {&control_fd_, &output_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  helper_pid_ = -1;
}

// berth-exec with fd 3 a socket carrying the spec (and bringing back its
// events), fds 1 and 2 one pipe for the test's output, fd 0 /dev/null.
void HealthChecker::start_check() {
  check_start_ = time_now_rfc3339();
  events_.clear();
  output_.clear();
  int control[2], output[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) < 0) return finish_check(-1, "socketpair failed");
  if (pipe2(output, O_CLOEXEC) < 0) {
    close(control[0]);
    close(control[1]);
    return finish_check(-1, "pipe2 failed");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    // berth-exec's descriptors; everything else closes (close_range in berth-exec)
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(output[1], 1) < 0 || dup2(output[1], 2) < 0 || dup2(control[1], 3) < 0) _exit(127);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    char name[] = "berth-exec", mode[] = "exec";
    char* argv[] = {name, mode, nullptr};
    char* envp[] = {nullptr};
    syscall(SYS_execveat, exec_fd_, "", argv, envp, AT_EMPTY_PATH);
    _exit(127);
  }
  close(control[1]);
  close(output[1]);
  if (pid < 0) {
    close(control[0]);
    close(output[0]);
    return finish_check(-1, "fork failed");
  }
  helper_pid_ = pid;
  control_fd_ = control[0];
  output_fd_ = output[0];
  deadline_ms_ = monotonic_ms() + static_cast<long long>(spec_.timeout_ms);
  std::string message;
  key_value_append(message, "mode", "exec");
  key_value_append(message, "pid", std::to_string(container_pid_));
  key_value_append(message, "pid-start-time", std::to_string(container_start_time_));
  message += exec_spec_;
  key_value_append(message, "end", "");
  bool ok = true;
  write_all(control_fd_, message.data(), message.size(), ok);
  shutdown(control_fd_, SHUT_WR);
}

void HealthChecker::add_pollfds(std::vector<pollfd>& fds) {
  slots_ = 0;
  if (!active()) return;
  if (helper_pid_ < 0 && next_check_ms_ >= 0 && monotonic_ms() >= next_check_ms_) start_check();
  for (int fd : {control_fd_, output_fd_}) {
    if (fd < 0) continue;
    fds.push_back({fd, POLLIN, 0});
    slots_++;
  }
}

void HealthChecker::handle(const pollfd* fds, size_t count) {
  if (!active()) return;
  char buf[4096];
  for (size_t i = 0; i < count && i < slots_; i++) {
    if (!fds[i].revents) continue;
    int& fd = fds[i].fd == control_fd_ ? control_fd_ : output_fd_;
    if (fd != fds[i].fd) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      close(fd);
      fd = -1;
      continue;
    }
    std::string& into = &fd == &control_fd_ ? events_ : output_;
    into.append(buf, static_cast<size_t>(n));
    if (output_.size() > kMaxOutput) output_.resize(kMaxOutput);
    if (events_.size() > kMaxEvents) events_.resize(kMaxEvents);
  }
  if (helper_pid_ < 0) return;
  if (control_fd_ < 0 && output_fd_ < 0) {  // berth-exec is done
    while (waitpid(helper_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    helper_pid_ = -1;
    const int code = exit_code_from_events(events_);
    finish_check(code, code < 0 && output_.empty() ? events_ : output_);
  } else if (monotonic_ms() >= deadline_ms_) {
    stop_check();
    finish_check(-1, "Health check exceeded timeout (" + std::to_string(spec_.timeout_ms) + "ms)");
  }
}

int HealthChecker::next_timeout_ms() const {
  if (!active()) return -1;
  long long at = helper_pid_ > 0 ? deadline_ms_ : next_check_ms_;
  if (at < 0) return -1;
  long long wait = at - monotonic_ms();
  return wait < 0 ? 0 : static_cast<int>(wait > 60000 ? 60000 : wait);
}

// Docker's rules: a pass makes the container healthy; a failure counts
// towards `retries` unless it comes in the start period while the container
// has not been healthy yet; `retries` failures in a row make it unhealthy.
void HealthChecker::finish_check(int exit_code, const std::string& output) {
  Result result{check_start_, time_now_rfc3339(), output, exit_code};
  log_.push_back(result);
  if (log_.size() > kLogEntries) log_.erase(log_.begin());
  const long long now = monotonic_ms();
  const bool in_start_period = now - run_started_ms_ < static_cast<long long>(spec_.start_period_ms);
  if (exit_code == 0) {
    status_ = "healthy";
    failing_streak_ = 0;
  } else if (!(in_start_period && status_ == "starting")) {
    if (++failing_streak_ >= spec_.retries) status_ = "unhealthy";
  }
  const bool starting = in_start_period && status_ == "starting";
  next_check_ms_ = now + static_cast<long long>(starting ? spec_.start_interval_ms : spec_.interval_ms);
  write_state();
}

// {"status":"healthy","failingStreak":0,"log":[{"start":…,"end":…,"exitCode":0,"output":"…"}]}
void HealthChecker::write_state() const {
  std::string j = "{\"status\":\"" + status_ + "\",\"failingStreak\":" + std::to_string(failing_streak_) + ",\"log\":[";
  for (size_t i = 0; i < log_.size(); i++) {
    if (i) j += ",";
    j += "{";
    append_result_json(j, "start", log_[i].start);
    j += ",";
    append_result_json(j, "end", log_[i].end);
    j += ",\"exitCode\":" + std::to_string(log_[i].exit_code) + ",";
    append_result_json(j, "output", log_[i].output);
    j += "}";
  }
  state_file_write(spec_.state_path, j + "]}\n");
}
