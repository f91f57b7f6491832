// execve with a search of PATH, like execvp but with the command's own PATH
// (from its environment, else the usual default): for the container's first
// process (container_setup.cc) and for a command berth-exec runs in a
// container (exec_main.cc).
#pragma once
#include <climits>
#include <string>
#include <vector>

struct ExecCommand {
  std::vector<char*> argv;  // NULL-terminated, pointing into the args given to exec_path_prepare
  std::vector<char*> envp;  // NULL-terminated, pointing into the env given to it
  std::string search_path;  // the PATH used to find argv[0]
};

// Fills `command` before fork or clone; `args` and `env` must outlive it.
void exec_path_prepare(ExecCommand& command, const std::vector<std::string>& args,
                       const std::vector<std::string>& env);

// execve argv[0]: as it is when it holds a '/', else from each PATH directory
// in turn, built in the caller's `candidate`. Allocation-free. Returns only on
// failure: -1 with errno set (EACCES when a candidate was found but not
// executable, ENOENT when none was found) and *failed_path the file that
// failed, argv[0] or `candidate`.
int exec_path_execve(const ExecCommand& command, char (&candidate)[PATH_MAX], const char** failed_path);
