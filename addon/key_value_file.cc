#include "key_value_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace {

constexpr size_t kMaxKey = 32;
constexpr size_t kMaxLengthDigits = 7;  // kKeyValueMaxValue has 7 digits

bool key_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (!first && ((c >= '0' && c <= '9') || c == '-'));
}

std::string shown(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

ssize_t key_value_fill(int fd, KeyValueBuffer& buffer) {
  if (buffer.start > 0 && buffer.start * 2 >= buffer.data.size()) {
    buffer.data.erase(0, buffer.start);
    buffer.start = 0;
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      buffer.data.append(chunk, static_cast<size_t>(n));
      buffer.total += static_cast<size_t>(n);
    }
    return n;
  }
}

bool key_value_read_file(const char* path, KeyValueBuffer& buffer, size_t max_bytes) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  ssize_t n;
  while ((n = key_value_fill(fd, buffer)) > 0) {
    if (buffer.data.size() > max_bytes) {
      n = -1;
      errno = EFBIG;
      break;
    }
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return n == 0;
}

bool key_value_next_from(int fd, KeyValueBuffer& buffer, std::string& key, std::string& value, std::string& error,
                         size_t max_bytes) {
  KeyValueNext next;
  while ((next = key_value_next(buffer, key, value, error)) == KeyValueNext::kIncomplete) {
    ssize_t n = key_value_fill(fd, buffer);
    if (n < 0) {
      error = std::string("spec: read: ") + strerror(errno);
      return false;
    }
    if (n == 0) {
      error = key_value_pending(buffer) ? "spec: truncated: the last record is cut off"
                                        : "spec: the input closed before \"end\"";
      return false;
    }
    if (buffer.total > max_bytes) {
      error = "spec: larger than the " + std::to_string(max_bytes) + " bytes a spec may have";
      return false;
    }
  }
  return next == KeyValueNext::kRecord;
}

KeyValueNext key_value_next(KeyValueBuffer& buffer, std::string& key, std::string& value, std::string& error) {
  const std::string& d = buffer.data;
  size_t p = buffer.start;
  // <key> ":"
  size_t key_start = p;
  while (p < d.size() && d[p] != ':') {
    if (!key_char(d[p], p == key_start) || p - key_start >= kMaxKey) {
      error = "spec: malformed key `" + shown(d.substr(key_start, p - key_start + 1)) + "`";
      return KeyValueNext::kMalformed;
    }
    p++;
  }
  if (p == d.size()) return KeyValueNext::kIncomplete;
  if (p == key_start) {
    error = "spec: a record without a key";
    return KeyValueNext::kMalformed;
  }
  size_t key_end = p++;
  // <length> ":"
  size_t length = 0, digits_start = p;
  while (p < d.size() && d[p] != ':') {
    bool leading_zero = p > digits_start && d[digits_start] == '0';
    if (d[p] < '0' || d[p] > '9' || leading_zero || p - digits_start >= kMaxLengthDigits) {
      error = "spec: bad length for key `" + d.substr(key_start, key_end - key_start) + "`";
      return KeyValueNext::kMalformed;
    }
    length = length * 10 + static_cast<size_t>(d[p] - '0');
    p++;
  }
  if (p == d.size()) return KeyValueNext::kIncomplete;
  if (p == digits_start || length > kKeyValueMaxValue) {
    error = "spec: bad length for key `" + d.substr(key_start, key_end - key_start) + "`";
    return KeyValueNext::kMalformed;
  }
  p++;
  // <value> "\n"
  if (d.size() - p < length + 1) return KeyValueNext::kIncomplete;
  if (d[p + length] != '\n') {
    error = "spec: the value of key `" + d.substr(key_start, key_end - key_start) + "` does not end where its length says";
    return KeyValueNext::kMalformed;
  }
  if (memchr(d.data() + p, '\0', length) != nullptr) {
    error = "spec: the value of key `" + d.substr(key_start, key_end - key_start) + "` contains a NUL byte";
    return KeyValueNext::kMalformed;
  }
  key.assign(d, key_start, key_end - key_start);
  value.assign(d, p, length);
  buffer.start = p + length + 1;
  return KeyValueNext::kRecord;
}

bool key_value_pending(const KeyValueBuffer& buffer) { return buffer.start < buffer.data.size(); }

const KeyValueKey* KeyValueSchema::find(const std::string& key) const {
  for (const Table& t : tables_) {
    for (size_t i = 0; i < t.count; i++) {
      if (key == t.keys[i].name) return &t.keys[i];
    }
  }
  return nullptr;
}

bool KeyValueSchema::accept(const std::string& key, const std::string& value, std::string& error) {
  const KeyValueKey* k = find(key);
  if (!k) {
    error = "spec: unknown key `" + key + "`";
    return false;
  }
  unsigned& n = counts_[key];
  if (n > 0 && !k->repeatable) {
    error = "spec: key `" + key + "` given twice";
    return false;
  }
  n++;
  bool ok = true;
  switch (k->kind) {
    case KeyValueKind::kText:
      break;
    case KeyValueKind::kPath:
      ok = !value.empty() && value[0] == '/';
      break;
    case KeyValueKind::kFlag:
      ok = value == "0" || value == "1";
      break;
    case KeyValueKind::kNumber: {
      // digits only, no leading zero, no overflow, at most max
      ok = !value.empty() && value.size() <= 20 && (value.size() == 1 || value[0] != '0');
      unsigned long long number = 0;
      for (size_t i = 0; ok && i < value.size(); i++) {
        unsigned digit = static_cast<unsigned>(value[i] - '0');
        ok = value[i] >= '0' && value[i] <= '9' && number <= (~0ULL - digit) / 10;
        number = number * 10 + digit;
      }
      ok = ok && number <= k->max;
      break;
    }
  }
  if (!ok) {
    static const char* const expected[] = {"text", "an absolute path", "a number in range", "0 or 1"};
    error = "spec: key `" + key + "` needs " + expected[static_cast<int>(k->kind)] + ", not `" + shown(value) + "`";
  }
  return ok;
}

unsigned KeyValueSchema::count(const char* key) const {
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

bool KeyValueSchema::require(std::initializer_list<const char*> keys, std::string& error) const {
  for (const char* key : keys) {
    if (count(key) == 0) {
      error = std::string("spec: key `") + key + "` is missing";
      return false;
    }
  }
  return true;
}

unsigned long long key_value_number(const std::string& value) { return strtoull(value.c_str(), nullptr, 10); }

void key_value_append(std::string& out, const std::string& key, const std::string& value) {
  out += key;
  out += ':';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}
