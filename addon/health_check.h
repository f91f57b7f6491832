// Healthchecks as Docker runs them, run by the container's monitor, so a
// detached container stays checked after the Node process that started it
// exits. Each check is a berth-exec `exec` of the test command — the same
// entry into the container's namespaces, cgroups, user, capabilities and
// no_new_privs as `container.exec()` — started from a sealed memfd copy of
// berth-exec made when the monitor starts (nothing the container can reach
// or change). Results go to <dir>/health.json (status, failing streak, the
// last 5 results), replaced atomically after every check.
#pragma once
#include <poll.h>
#include <string>
#include <vector>

struct HealthSpec {
  std::string exec_path;        // berth-exec on the host (copied once, sealed)
  std::string exec_spec_path;   // the test's exec spec without pid: <dir>/health-spec
  std::string state_path;       // <dir>/health.json
  unsigned long long interval_ms = 30000;
  unsigned long long timeout_ms = 30000;
  unsigned long long start_period_ms = 0;
  unsigned long long start_interval_ms = 5000;
  unsigned retries = 3;
  bool enabled() const { return !exec_spec_path.empty(); }
};

class HealthChecker {
 public:
  // Copies berth-exec into a sealed memfd and reads the test's exec spec.
  // False with errno set and the failing path in `failed`.
  bool prepare(const HealthSpec& spec, std::string& failed);
  bool active() const { return exec_fd_ >= 0; }
  // A run of the container started (first start or restart): the status is
  // `starting` again and the first check follows after the start interval.
  void run_started(int pid);
  // The run ended: a check in flight is killed; the last status stays.
  void run_ended();
  // The poll loop's part: descriptors to watch, what they report, and how
  // long poll may sleep (until the next check or the running one's timeout).
  void add_pollfds(std::vector<pollfd>& fds);
  void handle(const pollfd* fds, size_t count);
  int next_timeout_ms() const;

 private:
  struct Result {
    std::string start, end, output;
    int exit_code = 0;
  };
  void start_check();
  void finish_check(int exit_code, const std::string& output);
  void write_state() const;
  void stop_check();

  HealthSpec spec_;
  int exec_fd_ = -1;
  std::string exec_spec_;           // key\0value\0 pairs, without pid and end
  int container_pid_ = -1;
  unsigned long long container_start_time_ = 0;
  long long run_started_ms_ = 0;
  long long next_check_ms_ = -1;    // -1: nothing scheduled
  // the check in flight
  int helper_pid_ = -1, control_fd_ = -1, output_fd_ = -1;
  long long deadline_ms_ = 0;
  std::string check_start_, events_, output_;
  // the state
  std::string status_ = "starting";
  unsigned failing_streak_ = 0;
  std::vector<Result> log_;
  size_t slots_ = 0;                // what add_pollfds appended
};
