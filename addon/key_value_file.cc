#include "key_value_file.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

ssize_t key_value_fill(int fd, KeyValueBuffer& buffer) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) buffer.data.append(chunk, static_cast<size_t>(n));
    return n;
  }
}

bool key_value_read_file(const char* path, KeyValueBuffer& buffer) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  while ((n = key_value_fill(fd, buffer)) > 0) {
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return n == 0;
}

bool key_value_next(KeyValueBuffer& buffer, std::string& key, std::string& value) {
  size_t k_end = buffer.data.find('\0');
  if (k_end == std::string::npos) return false;
  size_t v_end = buffer.data.find('\0', k_end + 1);
  if (v_end == std::string::npos) return false;
  key.assign(buffer.data, 0, k_end);
  value.assign(buffer.data, k_end + 1, v_end - k_end - 1);
  buffer.data.erase(0, v_end + 1);
  return true;
}

bool key_value_truncated(const KeyValueBuffer& buffer) { return buffer.data.find('\0') != std::string::npos; }

unsigned long long key_value_number(const std::string& value) { return strtoull(value.c_str(), nullptr, 10); }
