// State files are replaced atomically: written to a temporary name, renamed.
// The monitor's files describe live processes (its pid, the container's, the
// exit status): a crash of any process leaves the old or the new file, never a
// mix; a power loss ends the processes too, so they are not fsynced.
#pragma once
#include <string>

bool state_file_write(const std::string& path, const std::string& content);

// Field 22 of /proc/<pid>/stat: with the pid, it names one process for good.
unsigned long long process_start_time(int pid);
