// The ports with a listening socket in another process's network namespace,
// asked of the kernel with sock_diag (NETLINK_SOCK_DIAG): only the listening
// sockets are walked, unlike /proc/<pid>/net/tcp, which walks the whole
// established-connection hash of the host (10–30 ms a read on a large host).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

// Fills `ports` with the local ports of the listening TCP sockets (udp: the
// bound UDP sockets) in the network namespace at `netns_path`
// (/proc/<pid>/ns/net), IPv4 and IPv6. On failure returns false with errno
// set and `syscall_name` naming the call.
bool listen_query(const std::string& netns_path, bool udp, std::vector<uint16_t>& ports, const char*& syscall_name);
