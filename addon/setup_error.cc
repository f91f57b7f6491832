#include "setup_error.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

void setup_error_exit(int sync_fd, const char* step, const char* syscall_name, const char* path) {
  SetupError error = {};
  int saved = errno;
  strncpy(error.step, step, sizeof error.step - 1);
  strncpy(error.syscall, syscall_name, sizeof error.syscall - 1);
  if (path) strncpy(error.path, path, sizeof error.path - 1);
  error.error_number = saved;
  send(sync_fd, &error, sizeof error, MSG_NOSIGNAL);
  _exit(127);
}

void setup_error_terminate(SetupError& error) {
  error.step[sizeof error.step - 1] = '\0';
  error.syscall[sizeof error.syscall - 1] = '\0';
  error.path[sizeof error.path - 1] = '\0';
}
