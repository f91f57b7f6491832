// What a failing child (the container's first process, or a command berth-exec
// runs) sends back on its sync socket before it dies: the setup step, the
// system call, the errno and the path it was working on.
#pragma once
#include <climits>

struct SetupError {
  char step[32];
  char syscall[32];
  int error_number;
  char path[PATH_MAX];
};

// In the child: sends a SetupError with the current errno on `sync_fd` and
// exits 127. Allocation-free; `path` may be nullptr.
[[noreturn]] void setup_error_exit(int sync_fd, const char* step, const char* syscall_name, const char* path);

// In the parent, on a SetupError received whole: ends its strings within their
// arrays, whatever the child sent.
void setup_error_terminate(SetupError& error);
