#include "log_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
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
  size_t plain = 0;  // start of the bytes that need no escape, appended in one piece
  for (size_t i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;  // UTF-8 passes through; Node decodes invalid bytes as U+FFFD
    out.append(text + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(text + plain, len - plain);
}

size_t time_now_rfc3339(char* buf, size_t size) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts;
  gmtime_r(&ts.tv_sec, &parts);
  size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &parts);
  int more = snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
  return more > 0 ? n + static_cast<size_t>(more) : n;
}

std::string time_now_rfc3339() {
  char buf[64];
  return std::string(buf, time_now_rfc3339(buf, sizeof buf));
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
  time_len_ = time_now_rfc3339(time_, sizeof time_);
  std::string& pending = pending_[stream];
  while (len > 0) {
    // the rest of a line, or a piece of kMaxLine bytes of a longer one
    size_t room = kMaxLine - pending.size();
    const char* newline = static_cast<const char*>(memchr(data, '\n', len < room ? len : room));
    size_t take = newline ? static_cast<size_t>(newline - data) + 1 : (len < room ? len : room);
    bool whole = newline != nullptr || take == room;
    if (whole && pending.empty()) {
      emit(stream, data, take);  // the common case: a whole line inside this read, no copy
    } else {
      pending.append(data, take);
      if (whole) {
        emit(stream, pending.data(), pending.size());
        pending.clear();
      }
    }
    data += take;
    len -= take;
  }
  write_out();
}

void LogWriter::flush(int stream) {
  if (pending_[stream].empty()) return;
  if (time_len_ == 0) time_len_ = time_now_rfc3339(time_, sizeof time_);
  emit(stream, pending_[stream].data(), pending_[stream].size());
  pending_[stream].clear();
  write_out();
}

void LogWriter::emit(int stream, const char* line, size_t len) {
  if (fd_ < 0) return;
  size_t start = out_.size();
  out_.append("{\"log\":\"");
  json_escape(out_, line, len);
  out_ += "\",\"stream\":\"";
  out_ += kStreamNames[stream];
  out_ += "\",\"time\":\"";
  out_.append(time_, time_len_);
  out_ += "\"}\n";
  size_t record = out_.size() - start;
  if (max_bytes_ && size_ + start + record > max_bytes_ && size_ + start > 0) {
    // this record goes to a new file: what came before it to the old one
    std::string tail = out_.substr(start);
    out_.resize(start);
    write_out();
    rotate();
    out_ = std::move(tail);
  }
}

void LogWriter::write_out() {
  if (fd_ >= 0 && !out_.empty()) {
    write_all(fd_, out_.data(), out_.size());
    size_ += out_.size();
  }
  out_.clear();
  // a burst of long lines must not leave megabytes allocated in an idle monitor
  if (out_.capacity() > 256 * 1024) out_.shrink_to_fit();
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
