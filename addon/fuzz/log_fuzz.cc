// Fuzzes the container log writer (log_writer.cc) with what a container
// prints: any bytes, in reads of any size on either stream, lines far over
// the 16 KiB piece size, no final newline. The log read back must be one
// JSON record per line, every piece 1 byte to 16 KiB, and per stream the
// pieces put together must be exactly the bytes written. A second pass with
// rotation on checks only the record shape of every file.
//
// Input: a sequence of chunks, each a control byte (bit 0: the stream;
// bit 1: flush after; bits 2-7: a size class) and then that many bytes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../log_writer.h"

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "log_fuzz: %s\n", what);
  abort();
}

char made_dir[] = "/tmp/berth-log-fuzz-XXXXXX";

// The directory of the log files, made once and removed at exit.
std::string dir() {
  static bool made = [] {
    require(mkdtemp(made_dir) != nullptr, "mkdtemp");
    atexit([] {
      for (const char* name : {"container.log", "container.log.1", "container.log.2", "container.log.3"})
        unlink((std::string(made_dir) + "/" + name).c_str());
      rmdir(made_dir);
    });
    return true;
  }();
  return made ? made_dir : "";
}

std::string read_all(const std::string& path) {
  std::string text;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  return text;
}

// The inside of a JSON string at `at` (after its opening quote), decoded
// as log_writer's json_escape encodes it; `at` ends after the closing quote.
std::string json_string(const std::string& line, size_t& at) {
  std::string out;
  for (;;) {
    require(at < line.size(), "a JSON string without its end");
    const unsigned char c = static_cast<unsigned char>(line[at++]);
    require(c >= 0x20 && c != 0x7f, "a control byte inside a JSON string");
    if (c == '"') return out;
    if (c != '\\') {
      out += static_cast<char>(c);
      continue;
    }
    require(at < line.size(), "a backslash at the end");
    const char e = line[at++];
    if (e == 'n') out += '\n';
    else if (e == 'r') out += '\r';
    else if (e == 't') out += '\t';
    else if (e == '"' || e == '\\') out += e;
    else {
      require(e == 'u' && at + 4 <= line.size() && line.compare(at, 2, "00") == 0, "an unknown escape");
      out += static_cast<char>(strtol(line.substr(at + 2, 2).c_str(), nullptr, 16));
      at += 4;
    }
  }
}

// One record: {"log":"…","stream":"stdout|stderr","time":"…"}; its stream and piece.
int parse_record(const std::string& line, std::string& piece) {
  const std::string head = "{\"log\":\"";
  require(line.compare(0, head.size(), head) == 0, "a record that does not start with log");
  size_t at = head.size();
  piece = json_string(line, at);
  const std::string middle = ",\"stream\":\"";
  require(line.compare(at, middle.size(), middle) == 0, "no stream after log");
  at += middle.size();
  const std::string stream = json_string(line, at);
  require(stream == "stdout" || stream == "stderr", "an unknown stream");
  const std::string tail = ",\"time\":\"";
  require(line.compare(at, tail.size(), tail) == 0, "no time after stream");
  at += tail.size();
  const std::string time = json_string(line, at);
  require(time.size() == 30 && time.back() == 'Z', "a malformed time");
  require(line.compare(at, std::string::npos, "}") == 0, "bytes after the record");
  return stream == "stdout" ? 0 : 1;
}

void run(const uint8_t* data, size_t size, bool rotating) {
  const std::string path = dir() + "/container.log";
  for (int i = 0; i < 4; i++) unlink((i ? path + "." + std::to_string(i) : path).c_str());
  LogWriter log;
  require(log.open(path, rotating ? 8192 : 0, 3), "open");
  std::string written[2];
  size_t at = 0;
  while (at < size) {
    const uint8_t control = data[at++];
    const int stream = control & 1;
    const size_t classes[] = {0, 1, 2, 7, 100, 16383, 16384, 16385, 40000, 65536};
    const size_t want = classes[(control >> 2) % 10] + ((control >> 2) / 10);
    const size_t take = want < size - at ? want : size - at;
    log.write(stream, reinterpret_cast<const char*>(data + at), take);
    written[stream].append(reinterpret_cast<const char*>(data + at), take);
    at += take;
    if (control & 2) log.flush(stream);
  }
  log.close();
  std::string logged[2];
  for (int i = 0; i < (rotating ? 3 : 1); i++) {
    const std::string text = read_all(i ? path + "." + std::to_string(i) : path);
    require(text.empty() || text.back() == '\n', "a log that does not end at a newline");
    size_t start = 0;
    while (start < text.size()) {
      const size_t end = text.find('\n', start);
      std::string piece;
      const int stream = parse_record(text.substr(start, end - start), piece);
      require(piece.size() <= 16 * 1024 && !piece.empty(), "a piece of the wrong size");
      if (!rotating) logged[stream] += piece;
      start = end + 1;
    }
  }
  if (!rotating) {
    require(logged[0] == written[0], "stdout not logged exactly as written");
    require(logged[1] == written[1], "stderr not logged exactly as written");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size, false);
  run(data, size, true);
  return 0;
}
