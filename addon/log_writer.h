// The container log: one JSON object per line, in Docker's json-file shape,
// {"log":"…","stream":"stdout","time":"2026-11-23T13:24:05.123456789Z"},
// rotated by size so a chatty container cannot fill the disk.
#pragma once
#include <string>

// Appends `len` bytes of `text` to `out` as the inside of a JSON string.
void json_escape(std::string& out, const char* text, size_t len);

// The current time as RFC 3339 with nanoseconds, in UTC.
std::string time_now_rfc3339();

class LogWriter {
 public:
  // max_bytes 0: never rotate. max_files: how many files in all (≥ 2 when rotating).
  bool open(const std::string& path, unsigned long long max_bytes, unsigned max_files);
  // Buffers `data` for `stream` (0 stdout, 1 stderr) and writes complete lines.
  void write(int stream, const char* data, size_t len);
  // Writes what is left of a partial line.
  void flush(int stream);
  void close();

 private:
  void emit(int stream, const char* line, size_t len);
  void rotate();
  std::string path_;
  int fd_ = -1;
  unsigned long long size_ = 0, max_bytes_ = 0;
  unsigned max_files_ = 2;
  std::string pending_[2];
  std::string record_;
};
