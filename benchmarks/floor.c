/*
 * floor: the least a container start can cost on this kernel, for the startup
 * benchmark (benchmarks/run.mjs). Compiled at bench time with `cc -O2 -static`.
 *
 *   floor <rootfs> <command> [args...]            one container, exit status of the command
 *   floor --loop N <rootfs> <command> [args...]   N containers in a row, timed here;
 *                                                 prints one duration in ns per line
 *
 * One container is the same namespaces berth's monitor creates and nothing
 * else: unshare(pid, mount, uts, ipc, net), fork (the child is pid 1 of the new
 * pid namespace), then in the child a cgroup namespace (berth makes it after the
 * clone too), / made private, chroot into the rootfs, exec the command. The
 * parent waits for it. No overlay, no /proc, no /dev, no capabilities dropped:
 * everything berth, crun and runc do beyond this is their own cost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  _exit(125);
}

/* The container: new namespaces, then its first process. Returns the
 * command's exit status (128+signal when killed). Call it once per process. */
static int container(const char *rootfs, char **command) {
  if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0) die("unshare");
  pid_t init = fork(); /* pid 1 of the new pid namespace */
  if (init < 0) die("fork");
  if (init == 0) {
    if (unshare(CLONE_NEWCGROUP) < 0) die("unshare(cgroup)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("mount private /");
    if (chroot(rootfs) < 0) die("chroot");
    if (chdir("/") < 0) die("chdir");
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(command[0], command, envp);
    die("execve");
  }
  int status;
  while (waitpid(init, &status, 0) < 0)
    if (errno != EINTR) die("waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --loop: each container from a forked helper, so this process keeps its own
 * namespaces (a pid namespace takes one init only). */
static int one(const char *rootfs, char **command) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) _exit(container(rootfs, command));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die("waitpid");
  return status;
}

int main(int argc, char **argv) {
  long loops = 0;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "--loop") == 0) {
    loops = strtol(argv[2], NULL, 10);
    first = 3;
  }
  if (argc - first < 2) {
    fprintf(stderr, "usage: floor [--loop N] <rootfs> <command> [args...]\n");
    return 2;
  }
  const char *rootfs = argv[first];
  char **command = argv + first + 1;
  if (loops <= 0) return container(rootfs, command); /* the command spawned from Node: no helper */
  for (long i = 0; i < loops; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int status = one(rootfs, command);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "floor: run %ld: the command failed (status %d)\n", i, status);
      return 1;
    }
    printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
  }
  return 0;
}
