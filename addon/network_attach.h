// Bridge networks, attached by the monitor at sync 1, on the first start and
// on every restart: the commands were decided by Node (lib/container/
// container-network.ts) and come in the spec as iproute2 batch lines; `{pid}`
// stands for the container's first process. Host-side lines run here,
// container-side lines inside the container's network namespace.
#pragma once
#include <string>
#include <vector>

// Runs `ip -batch -` with the lines (pid substituted), inside the network
// namespace of `netns_pid` when it is > 0. False with errno set on failure.
bool network_run_ip(const std::vector<std::string>& lines, int pid, int netns_pid);
