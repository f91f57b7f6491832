// The monitor's part in cgroups: put the container's first process in, count
// OOM kills, and remove the cgroups after the exit. Creating them and writing
// limits is Node's (lib/cgroup/).
#pragma once
#include <string>
#include <vector>

// cgroup v1: the container's first process joins its cgroups itself, by
// writing "0" to the `tasks` file of each (beside the cgroup.procs files the
// spec names). The kernel moves the calling thread alone then, without the
// global threadgroup lock whose write side waits for an RCU grace period
// (0.05-15 ms, depending on what else the host is doing) when the monitor
// writes a pid to cgroup.procs. The process is single-threaded, so the thread
// is the process.
struct CgroupJoin {
  std::vector<std::string> tasks_files;  // the paths, for errors
  std::vector<int> fds;                  // opened by the monitor before clone (O_CLOEXEC)
  int open_errno = 0;                    // why one could not be opened (the child reports it)
  size_t failed = 0;                     // which one (with open_errno)

  CgroupJoin() = default;
  CgroupJoin(const CgroupJoin&) = delete;
  CgroupJoin& operator=(const CgroupJoin&) = delete;
  ~CgroupJoin();  // the monitor's copies close with the plan
};

// In the monitor, before clone: opens the `tasks` file of each cgroup.procs
// file's directory. A failure is kept in open_errno, for the child to report.
void cgroup_join_prepare(CgroupJoin& join, const std::vector<std::string>& procs_files);

// The "oom_kill N" count from memory.events (v2) or memory.oom_control (v1); 0 when absent.
unsigned long cgroup_oom_kills(const std::string& counter_file);

// rmdir each directory, waiting (up to ~3 s) while dying processes keep it
// busy (the `…/berth` parents stay for the next container). False when a
// directory is still there.
bool cgroup_remove(const std::vector<std::string>& dirs);
