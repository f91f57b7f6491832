// The device cgroup on v2: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
// attached to the container's cgroup that allows exactly the listed devices.
#pragma once
#include <string>
#include <vector>

struct DeviceRule {
  char type;         // 'c', 'b' or 'a'
  long long major;   // -1: any
  long long minor;   // -1: any
  unsigned access;   // bits: 1 mknod, 2 read, 4 write (BPF_DEVCG_ACC_*)
};

// Builds the allow-list program and attaches it to `cgroup_dir`. On failure
// returns -1 with errno set and `syscall_name` naming the call that failed.
int device_filter_attach(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules, const char*& syscall_name);
