// The monitor's part in cgroups: put the container's first process in, count
// OOM kills, and remove the cgroups after the exit. Creating them and writing
// limits is Node's (lib/cgroup/).
#pragma once
#include <string>
#include <vector>

// Writes `pid` to each cgroup.procs file (v1). On failure returns false with
// the path that failed in `failed` and errno set.
bool cgroup_enter(const std::vector<std::string>& procs_files, int pid, std::string& failed);

// The "oom_kill N" count from memory.events (v2) or memory.oom_control (v1); 0 when absent.
unsigned long cgroup_oom_kills(const std::string& counter_file);

// rmdir each directory, waiting (up to ~3 s) while dying processes keep it
// busy (the `…/berth` parents stay for the next container). False when a
// directory is still there.
bool cgroup_remove(const std::vector<std::string>& dirs);
