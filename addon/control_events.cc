#include "control_events.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "log_writer.h"

namespace {

bool control_open = true;

}  // namespace

void write_all(int fd, const char* data, size_t len, bool& open) {
  while (open && len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { open = false; return; }  // the reader went away: carry on without it
    data += n;
    len -= static_cast<size_t>(n);
  }
}

void control_event_send(const std::string& json) {
  std::string line = json + "\n";
  write_all(kControlFd, line.data(), line.size(), control_open);
}

void control_events_disable() { control_open = false; }

std::string control_error_event(const char* step, const char* syscall_name, int error_number, const char* path) {
  std::string e = "{\"event\":\"error\",\"step\":\"";
  json_escape(e, step, strlen(step));
  e += "\",\"syscall\":\"";
  json_escape(e, syscall_name, strlen(syscall_name));
  e += "\",\"errno\":" + std::to_string(error_number) + ",\"path\":\"";
  json_escape(e, path, strlen(path));
  e += "\"}";
  return e;
}
