#include "log_writer.h"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {
const size_t kMaxLine = 16 * 1024;  // a longer line is written in pieces, as Docker does
const char* const kStreamNames[2] = {"stdout", "stderr"};

void write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk loses log lines, never the container
    data += n;
    len -= static_cast<size_t>(n);
  }
}
}  // namespace

void json_escape(std::string& out, const char* text, size_t len) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through; Node decodes invalid bytes as U+FFFD
        }
    }
  }
}

std::string time_now_rfc3339() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts;
  gmtime_r(&ts.tv_sec, &parts);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

bool LogWriter::open(const std::string& path, unsigned long long max_bytes, unsigned max_files) {
  path_ = path;
  max_bytes_ = max_bytes;
  max_files_ = max_files < 2 ? 2 : max_files;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return false;
  struct stat st;
  if (fstat(fd_, &st) == 0) size_ = static_cast<unsigned long long>(st.st_size);
  return true;
}

void LogWriter::write(int stream, const char* data, size_t len) {
  std::string& pending = pending_[stream];
  for (size_t i = 0; i < len; i++) {
    pending += data[i];
    if (data[i] == '\n' || pending.size() >= kMaxLine) {
      emit(stream, pending.data(), pending.size());
      pending.clear();
    }
  }
}

void LogWriter::flush(int stream) {
  if (pending_[stream].empty()) return;
  emit(stream, pending_[stream].data(), pending_[stream].size());
  pending_[stream].clear();
}

void LogWriter::emit(int stream, const char* line, size_t len) {
  if (fd_ < 0) return;
  record_.assign("{\"log\":\"");
  json_escape(record_, line, len);
  record_ += "\",\"stream\":\"";
  record_ += kStreamNames[stream];
  record_ += "\",\"time\":\"";
  record_ += time_now_rfc3339();
  record_ += "\"}\n";
  if (max_bytes_ && size_ + record_.size() > max_bytes_ && size_ > 0) rotate();
  write_all(fd_, record_.data(), record_.size());
  size_ += record_.size();
}

// container.log → container.log.1 → … → container.log.(max_files-1), oldest dropped.
void LogWriter::rotate() {
  for (unsigned i = max_files_ - 1; i >= 1; i--) {
    std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    std::string to = path_ + "." + std::to_string(i);
    rename(from.c_str(), to.c_str());
  }
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  size_ = 0;
}

void LogWriter::close() {
  flush(0);
  flush(1);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}
