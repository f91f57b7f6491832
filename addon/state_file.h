// State files are replaced atomically: written to a temporary name, synced, renamed.
#pragma once
#include <string>

bool state_file_write(const std::string& path, const std::string& content);

// Field 22 of /proc/<pid>/stat: with the pid, it names one process for good.
unsigned long long process_start_time(int pid);
