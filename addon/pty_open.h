// A new terminal from the devpts instance mounted at /dev/pts (through its
// /dev/ptmx): for the container's first process (container_setup.cc, in the
// container's own devpts) and for a command berth-exec runs in a container
// (exec_main.cc, after entering its mount namespace).
#pragma once

// Opens the master side, unlocks it, sizes it `rows` x `cols` when both are
// set, and opens the slave side, whose name goes into `slave_path`
// ("/dev/pts/N"); both descriptors O_NOCTTY | O_CLOEXEC. Allocation-free.
// Returns 0, or -1 with errno set, the system call that failed in
// *failed_syscall and what it was about in *failed_path (nothing stays open).
int pty_open(unsigned short rows, unsigned short cols, int* master, int* slave, char (&slave_path)[32],
             const char** failed_syscall, const char** failed_path);
