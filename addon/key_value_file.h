// The NUL-separated "key\0value\0" pairs in which Node hands plain values to
// the native processes: the monitor's spec file (lib/container/monitor-spec.ts,
// read by spec.cc) and berth-exec's control socket
// (lib/container/exec-process.ts, read by exec_spec.cc).
#pragma once
#include <string>
#include <sys/types.h>

// Bytes read that do not yet form a whole pair.
struct KeyValueBuffer {
  std::string data;
};

// One read(2) from `fd` into `buffer`: the number of bytes read, 0 at EOF, or
// -1 with errno set.
ssize_t key_value_fill(int fd, KeyValueBuffer& buffer);

// Reads the whole file at `path` into `buffer`; false with errno set on failure.
bool key_value_read_file(const char* path, KeyValueBuffer& buffer);

// Takes the next whole pair out of `buffer`; false when there is none (yet).
bool key_value_next(KeyValueBuffer& buffer, std::string& key, std::string& value);

// True when `buffer` holds the start of a pair whose value is cut off (a key
// and its NUL, but no NUL after the value).
bool key_value_truncated(const KeyValueBuffer& buffer);

// A value as an unsigned decimal number (strtoull: 0 when it is not one).
unsigned long long key_value_number(const std::string& value);
