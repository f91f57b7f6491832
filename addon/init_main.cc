// berth-init: PID 1 of a container created with `init: true` (Docker's
// `--init`, tini's job). Bind-mounted read-only at /sbin/docker-init and run
// as `docker-init -- command args…`.
//
// The kernel gives PID 1 no default signal actions and makes it the parent of
// every orphan. A server that is PID 1 therefore ignores SIGTERM (stop() has
// to wait for SIGKILL) and never reaps the orphans it inherits (they stay
// zombies). This init:
//   1. blocks the signals it forwards, so they queue for it (a blocked signal
//      reaches PID 1 even without a handler);
//   2. forks and execs the command, with the original signal mask;
//   3. forwards every signal it receives to the command;
//   4. reaps every child that exits, and when the command exits, exits with
//      its status (128 + n for a signal n), which ends the container.
// Statically linked, single-threaded, no allocation after start.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Signals that report a fault of this process, or stop it from the
// terminal: never blocked or forwarded (as tini).
bool is_own_signal(int signal_number) {
  switch (signal_number) {
    case SIGFPE: case SIGILL: case SIGSEGV: case SIGBUS: case SIGABRT: case SIGTRAP: case SIGSYS:
    case SIGTTIN: case SIGTTOU: case SIGKILL: case SIGSTOP:
      return true;
    default:
      return false;
  }
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (first >= argc) {
    fprintf(stderr, "usage: docker-init -- command [args…]\n");
    return 2;
  }

  /* 1. block what we forward */
  sigset_t forwarded, original;
  sigfillset(&forwarded);
  for (int s = 1; s < NSIG; s++)
    if (is_own_signal(s)) sigdelset(&forwarded, s);
  if (sigprocmask(SIG_BLOCK, &forwarded, &original) < 0) {
    perror("docker-init: sigprocmask");
    return 1;
  }

  /* 2. the command */
  const pid_t child = fork();
  if (child < 0) {
    perror("docker-init: fork");
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &original, nullptr);
    execvp(argv[first], argv + first);
    const int error = errno;
    fprintf(stderr, "docker-init: exec %s: %s\n", argv[first], strerror(error));
    _exit(error == ENOENT ? 127 : 126);
  }

  /* 3 and 4. forward signals, reap children */
  for (;;) {
    siginfo_t info;
    const int signal_number = sigwaitinfo(&forwarded, &info);
    if (signal_number < 0) continue;  // EINTR
    if (signal_number != SIGCHLD) {
      kill(child, signal_number);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == child) return exit_code_of(status);  // the rest die with the pid namespace
    }
  }
}
