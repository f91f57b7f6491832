// Resource limits (setrlimit) for the process a spec runs, written in the
// specs as "resource:soft:hard".
#pragma once
#include <string>
#include <sys/resource.h>
#include <vector>

struct Rlimit {
  int resource;
  rlim_t soft;
  rlim_t hard;
};

// "resource:soft:hard": decimal numbers, "-1" unlimited; false when malformed.
bool rlimit_parse(const std::string& text, Rlimit& limit);

// setrlimit for each limit, in order: 0, or -1 with errno set at the first
// that fails. Allocation-free (for the child side).
int rlimits_apply(const std::vector<Rlimit>& limits);
