#include "pty_open.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int pty_open(unsigned short rows, unsigned short cols, int* master, int* slave, char (&slave_path)[32],
             const char** failed_syscall, const char** failed_path) {
  *master = *slave = -1;
  auto failed = [&](const char* syscall_name, const char* path) {
    int saved = errno;
    if (*master >= 0) close(*master);
    *master = -1;
    errno = saved;
    *failed_syscall = syscall_name;
    *failed_path = path;
    return -1;
  };
  *master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0) return failed("open", "/dev/ptmx");
  int unlock = 0, number = 0;
  if (ioctl(*master, TIOCSPTLCK, &unlock) < 0) return failed("ioctl", "/dev/ptmx");
  if (ioctl(*master, TIOCGPTN, &number) < 0) return failed("ioctl", "/dev/ptmx");
  if (rows && cols) {
    winsize size = {rows, cols, 0, 0};
    if (ioctl(*master, TIOCSWINSZ, &size) < 0) return failed("ioctl", "TIOCSWINSZ");
  }
  snprintf(slave_path, sizeof slave_path, "/dev/pts/%d", number);
  *slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0) return failed("open", slave_path);
  return 0;
}
