// Descriptors over a unix socket (SCM_RIGHTS), with a small payload: how the
// monitor, the container's first process and the netns agent hand each other
// a pty master, namespaces, mounts and sockets. No allocation: the child side
// uses them between clone and execve.
#pragma once

#include <cstddef>
#include <sys/types.h>

// The most descriptors one message carries (the kernel's SCM_MAX_FD is 253).
constexpr size_t kMaxFdsPerMessage = 250;

// Sends `size` bytes of `data` with `count` (≤ kMaxFdsPerMessage) descriptors;
// sendmsg's result (MSG_NOSIGNAL).
ssize_t send_with_fds(int sock, const void* data, size_t size, const int* fds, size_t count);

// Receives one message into `data` (at most `size` bytes), retrying on EINTR;
// its descriptors (close-on-exec) go to `fds`, the first `capacity` of them,
// the rest are closed; `received` counts them all. recvmsg's result.
ssize_t receive_with_fds(int sock, void* data, size_t size, int* fds, size_t capacity, size_t& received);
