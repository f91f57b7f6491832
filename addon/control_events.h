// Events to Node on the control descriptor (fd 3), one JSON object per line:
// the monitor's started, error and exited (monitor_main.cc), berth-exec's
// ready, started, error and exited (exec_main.cc). A reader that goes away
// stops them, and the process carries on without it.
#pragma once
#include <cstddef>
#include <string>

constexpr int kControlFd = 3;

// Writes all `len` bytes of `data` to `fd` while `open` holds; a failed write
// means the reader went away and turns `open` false.
void write_all(int fd, const char* data, size_t len, bool& open);

// Writes `json` and a newline to kControlFd.
void control_event_send(const std::string& json);

// No event goes out from now on (fd 3 was not given, and may be reused).
void control_events_disable();

// {"event":"error","step":…,"syscall":…,"errno":…,"path":…}
std::string control_error_event(const char* step, const char* syscall_name, int error_number, const char* path);
