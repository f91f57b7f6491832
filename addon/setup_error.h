// What a failing container child sends back to its monitor before it dies:
// the setup step, the system call, the errno and the path it was working on.
#pragma once
#include <climits>

struct SetupError {
  char step[32];
  char syscall[32];
  int error_number;
  char path[PATH_MAX];
};
