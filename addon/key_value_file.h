// The form in which Node hands plain values to the native processes: the
// monitor's spec pipe (lib/container/monitor-spec.ts, read by spec.cc) and
// berth-exec's control socket (lib/container/exec-helper.ts, read by
// exec_spec.cc). lib/container/spec-encoding.ts writes it.
//
// A sequence of records, each
//
//     <key> ":" <length> ":" <value> "\n"
//
//   key     1 to 32 of a-z 0-9 -, starting with a letter
//   length  the value's size in bytes, in decimal: no sign, no leading zero,
//           at most kKeyValueMaxValue
//   value   exactly that many bytes, none of them NUL (every value becomes a
//           C string: a path, an argv or env entry, a number)
//   "\n"    a check that the length was right
//
// A value cannot end its record early or start another one: its length comes
// before it, and it is taken as bytes, whatever they are. Anything else is
// malformed and refused, never skipped: the reader stops at the first fault.
//
// What each reader accepts is a KeyValueSchema: its keys, what kind of value
// each takes (text, an absolute path, a number up to a maximum, a 0/1 flag),
// and whether a key may come more than once (`arg`, `env`, `lower`, …) or at
// most once (`uid`, `cwd`, `rootfs`, …). An unknown key, a second value for a
// single key or a value of the wrong kind is refused.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

// The largest value: far above any path (PATH_MAX), argv or env entry
// (MAX_ARG_STRLEN, 128 KiB) the kernel takes.
constexpr size_t kKeyValueMaxValue = 1 << 20;

// Bytes read and not yet taken as records.
struct KeyValueBuffer {
  std::string data;
  size_t start = 0;  // where the next record begins
  size_t total = 0;  // bytes read into it so far
};

// One read(2) from `fd` into `buffer`: the number of bytes read, 0 at EOF, or
// -1 with errno set.
ssize_t key_value_fill(int fd, KeyValueBuffer& buffer);

// Reads the whole file at `path` (at most `max_bytes`) into `buffer`; false
// with errno set on failure (EFBIG when it is larger).
bool key_value_read_file(const char* path, KeyValueBuffer& buffer, size_t max_bytes);

enum class KeyValueNext {
  kRecord,      // `key` and `value` hold the next record
  kIncomplete,  // the buffer ends inside a record (or is empty): read more
  kMalformed,   // `error` says what is wrong; nothing after it can be trusted
};

// Takes the next record out of `buffer`.
KeyValueNext key_value_next(KeyValueBuffer& buffer, std::string& key, std::string& value, std::string& error);

// Takes the next record out of `buffer`, reading more from `fd` as needed
// (at most `max_bytes` in all); false with `error` set when the input is
// malformed, larger, unreadable or closes before a whole record: a stream
// ends with a record named "end", which the caller looks for.
bool key_value_next_from(int fd, KeyValueBuffer& buffer, std::string& key, std::string& value, std::string& error,
                         size_t max_bytes);

// True when `buffer` holds bytes that do not form a whole record.
bool key_value_pending(const KeyValueBuffer& buffer);

enum class KeyValueKind {
  kText,    // any bytes but NUL
  kPath,    // an absolute path
  kNumber,  // an unsigned decimal number, at most `max`
  kFlag,    // "0" or "1"
};

// One key a reader accepts.
struct KeyValueKey {
  const char* name;
  KeyValueKind kind;
  bool repeatable = false;      // else at most once
  unsigned long long max = ~0ULL;  // kNumber: the largest value
};

// A reader's keys, from one or more tables (the process keys are shared by
// both readers), and the count of each key taken so far.
class KeyValueSchema {
 public:
  struct Table {
    const KeyValueKey* keys;
    size_t count;
  };
  template <size_t N>
  static Table table(const KeyValueKey (&keys)[N]) {
    return {keys, N};
  }
  explicit KeyValueSchema(std::initializer_list<Table> tables) : tables_(tables) {}

  // Checks one record against the schema and counts it; false with `error`
  // filled for an unknown key, a repeated single key or a value of the wrong kind.
  bool accept(const std::string& key, const std::string& value, std::string& error);

  // How many values `key` had.
  unsigned count(const char* key) const;

  // False with `error` filled naming the first of `keys` that had no value.
  bool require(std::initializer_list<const char*> keys, std::string& error) const;

 private:
  const KeyValueKey* find(const std::string& key) const;
  std::vector<Table> tables_;
  std::map<std::string, unsigned> counts_;
};

// A value the schema accepted as a number (kNumber).
unsigned long long key_value_number(const std::string& value);

// Appends one record, `<key>:<length>:<value>\n`, to `out`: the writer's
// side of the format, for the one input the monitor itself composes (a
// healthcheck's berth-exec control message).
void key_value_append(std::string& out, const std::string& key, const std::string& value);
