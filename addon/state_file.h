// State files are replaced atomically: written to a temporary name, renamed.
// The monitor's files describe live processes (its pid, the container's, the
// exit status): a crash of any process leaves the old or the new file, never a
// mix; a power loss ends the processes too, so they are not fsynced.
#pragma once
#include <string>

bool state_file_write(const std::string& path, const std::string& content);

// Makes the temporary file of a later state_file_write(path, …) ahead of it:
// creating a file is the slow part of that write on a busy disk (a new
// inode), and a write that finds the file there only truncates it. Nothing
// reads the temporary file, so one left behind is harmless.
void state_file_prepare(const std::string& path);

// Field 22 of /proc/<pid>/stat: with the pid, it names one process for good.
unsigned long long process_start_time(int pid);
