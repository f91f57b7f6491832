#include "exec_path.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

void exec_path_prepare(ExecCommand& command, const std::vector<std::string>& args,
                       const std::vector<std::string>& env) {
  for (const auto& a : args) command.argv.push_back(const_cast<char*>(a.c_str()));
  command.argv.push_back(nullptr);
  command.search_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env) {
    command.envp.push_back(const_cast<char*>(e.c_str()));
    if (e.compare(0, 5, "PATH=") == 0) command.search_path = e.substr(5);
  }
  command.envp.push_back(nullptr);
}

int exec_path_execve(const ExecCommand& command, char (&candidate)[PATH_MAX], const char** failed_path) {
  const char* file = command.argv[0];
  *failed_path = file;
  if (strchr(file, '/')) {
    execve(file, command.argv.data(), command.envp.data());
    return -1;
  }
  bool seen_eacces = false;
  const char* dir = command.search_path.c_str();
  while (*dir) {
    const char* end = strchrnul(dir, ':');
    size_t dir_len = static_cast<size_t>(end - dir);
    size_t file_len = strlen(file);
    if (dir_len + 1 + file_len < sizeof candidate) {
      memcpy(candidate, dir, dir_len);
      candidate[dir_len] = '/';
      memcpy(candidate + dir_len + 1, file, file_len + 1);
      execve(candidate, command.argv.data(), command.envp.data());
      if (errno == EACCES) {
        seen_eacces = true;
      } else if (errno != ENOENT && errno != ENOTDIR) {
        *failed_path = candidate;
        return -1;
      }
    }
    dir = *end ? end + 1 : end;
  }
  errno = seen_eacces ? EACCES : ENOENT;
  return -1;
}
