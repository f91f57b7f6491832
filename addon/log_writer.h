// The container log: one JSON object per line, in Docker's json-file shape,
// {"log":"…","stream":"stdout","time":"2026-11-23T13:24:05.123456789Z"},
// rotated by size so a chatty container cannot fill the disk. The records of
// one read (one `write()` call) go to the file in a single write(2), before
// write() returns: nothing waits in memory for a later read, so a crash of the
// container loses no line, and a crash of the monitor loses at most the read
// it was handling.
#pragma once
#include <string>

// Appends `len` bytes of `text` to `out` as the inside of a JSON string.
void json_escape(std::string& out, const char* text, size_t len);

// The current time as RFC 3339 with nanoseconds, in UTC, into `buf` (≥ 40
// bytes); returns its length.
size_t time_now_rfc3339(char* buf, size_t size);
std::string time_now_rfc3339();

class LogWriter {
 public:
  // max_bytes 0: never rotate. max_files: how many files in all (≥ 2 when rotating).
  bool open(const std::string& path, unsigned long long max_bytes, unsigned max_files);
  // Takes `data` as read from `stream` (0 stdout, 1 stderr) and writes its
  // complete lines, all stamped with the time of this call; a partial line
  // waits for the rest.
  void write(int stream, const char* data, size_t len);
  // Writes what is left of a partial line.
  void flush(int stream);
  void close();

 private:
  void emit(int stream, const char* line, size_t len);
  void write_out();
  void rotate();
  std::string path_;
  int fd_ = -1;
  unsigned long long size_ = 0, max_bytes_ = 0;
  unsigned max_files_ = 2;
  std::string pending_[2];
  std::string out_;   // records not yet written: those of the current write()
  char time_[40];     // the current write()'s time stamp, as JSON wants it
  size_t time_len_ = 0;
};
