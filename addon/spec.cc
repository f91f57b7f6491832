#include "spec.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "key_value_file.h"

namespace {

// "ro,nosuid,rslave": mount flags and at most one propagation.
bool parse_mount_options(const std::string& v, Mount& m) {
  static const struct { const char* name; unsigned long flag; bool propagation; } known[] = {
      {"ro", MS_RDONLY, false},        {"nosuid", MS_NOSUID, false},
      {"nodev", MS_NODEV, false},      {"noexec", MS_NOEXEC, false},
      {"rprivate", MS_PRIVATE | MS_REC, true}, {"private", MS_PRIVATE, true},
      {"rslave", MS_SLAVE | MS_REC, true},     {"slave", MS_SLAVE, true},
      {"rshared", MS_SHARED | MS_REC, true},   {"shared", MS_SHARED, true},
  };
  size_t start = 0;
  while (start < v.size()) {
    size_t end = v.find(',', start);
    if (end == std::string::npos) end = v.size();
    std::string word = v.substr(start, end - start);
    bool found = false;
    for (const auto& k : known) {
      if (word != k.name) continue;
      (k.propagation ? m.propagation : m.flags) |= k.flag;
      found = true;
    }
    if (!found) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool spec_read(const char* path, Spec& spec, std::string& error) {
  KeyValueBuffer data;
  if (!key_value_read_file(path, data)) {
    error = std::string("open `") + path + "`: " + strerror(errno);
    return false;
  }
  std::string key, value;
  while (key_value_next(data, key, value)) {
    if (process_spec_set(spec.process, key, value, error)) {
      if (!error.empty()) return false;
    }
    else if (key == "lower") spec.lower_dirs.push_back(value);
    else if (key == "upper") spec.upper_dir = value;
    else if (key == "work") spec.work_dir = value;
    else if (key == "rootfs") spec.rootfs = value;
    else if (key == "readonly-rootfs") spec.readonly_rootfs = value == "1";
    else if (key == "mask") spec.masked_paths.push_back(value);
    else if (key == "readonly") spec.readonly_paths.push_back(value);
    else if (key == "mount") {
      // starts a mount; the mount-* keys after it fill it in
      if (value != "bind" && value != "tmpfs") { error = "spec: bad mount type `" + value + "`"; return false; }
      spec.mounts.emplace_back();
      spec.mounts.back().bind = value == "bind";
    } else if (key.compare(0, 6, "mount-") == 0 && !spec.mounts.empty()) {
      Mount& m = spec.mounts.back();
      if (key == "mount-source") m.source = value;
      else if (key == "mount-target") m.target = value;
      else if (key == "mount-data") m.data = value;
      else if (key == "mount-options") {
        if (!parse_mount_options(value, m)) { error = "spec: bad mount options `" + value + "`"; return false; }
      } else { error = "spec: unknown key `" + key + "`"; return false; }
    }
    else if (key == "root-propagation") {
      if (value != "rprivate" && value != "rslave") { error = "spec: bad root-propagation `" + value + "`"; return false; }
      spec.root_propagation = value == "rslave" ? MS_SLAVE : MS_PRIVATE;
    }
    else if (key == "hostname") spec.hostname = value;
    else if (key == "cgroup-dir") spec.cgroup_dir = value;
    else if (key == "cgroup-procs") spec.cgroup_procs.push_back(value);
    else if (key == "oom-counter") spec.oom_counter = value;
    else if (key == "cgroup-remove") spec.cgroup_remove.push_back(value);
    else if (key == "cgroup-remove-parent") spec.cgroup_remove_parents.push_back(value);
    else if (key == "network-mode") spec.network_mode = value;
    else if (key == "network-join") spec.network_join = value;
    else if (key == "network-host-ip") spec.network_host_commands.push_back(value);
    else if (key == "network-container-ip") spec.network_container_commands.push_back(value);
    else if (key == "port") {
      // proto:hostIp:hostPort:containerIp:containerPort (IPv4)
      PortMapping m;
      char proto[4] = {}, host_ip[16] = {}, container_ip[16] = {};
      if (sscanf(value.c_str(), "%3[a-z]:%15[0-9.]:%d:%15[0-9.]:%d", proto, host_ip, &m.host_port, container_ip,
                 &m.container_port) != 5) {
        error = "spec: bad port `" + value + "`";
        return false;
      }
      m.udp = std::string(proto) == "udp";
      m.host_ip = host_ip;
      m.container_ip = container_ip;
      spec.ports.push_back(m);
    }
    else if (key == "restart") spec.restart_policy = value;
    else if (key == "restart-max") spec.restart_max = key_value_number(value);
    else if (key == "stop-marker") spec.stop_marker = value;
    else if (key == "auto-remove-dir") spec.auto_remove_dir = value;
    else if (key == "auto-remove-name") spec.auto_remove_name = value;
    else if (key == "attach") spec.attach = value == "1";
    else if (key == "log") spec.log_path = value;
    else if (key == "log-max-files") spec.log_max_files = static_cast<unsigned>(key_value_number(value));
    else if (key == "log-max-bytes") spec.log_max_bytes = key_value_number(value);
    else if (key == "exit-file") spec.exit_path = value;
    else if (key == "pid-file") spec.pid_path = value;
    else if (key == "health-exec") spec.health.exec_path = value;
    else if (key == "health-spec") spec.health.exec_spec_path = value;
    else if (key == "health-file") spec.health.state_path = value;
    else if (key == "health-interval-ms") spec.health.interval_ms = key_value_number(value);
    else if (key == "health-timeout-ms") spec.health.timeout_ms = key_value_number(value);
    else if (key == "health-start-period-ms") spec.health.start_period_ms = key_value_number(value);
    else if (key == "health-start-interval-ms") spec.health.start_interval_ms = key_value_number(value);
    else if (key == "health-retries") spec.health.retries = static_cast<unsigned>(key_value_number(value));
    else if (key == "owner-pid") spec.owner_pid = static_cast<int>(key_value_number(value));
    else if (key == "owner-start-time") spec.owner_start_time = key_value_number(value);
    else if (key == "owner-remove-dir") spec.owner_remove_dir = value;
    else if (key == "owner-remove-name") spec.owner_remove_name = value;
    else if (key == "owner-remove-volume") spec.owner_remove_volumes.push_back(value);
    else if (key == "owner-volumes-lock") spec.owner_volumes_lock = value;
    else if (key == "owner-containers-dir") spec.owner_containers_dir = value;
    else { error = "spec: unknown key `" + key + "`"; return false; }
  }
  if (key_value_truncated(data)) { error = "spec: truncated value"; return false; }
  if (spec.process.args.empty()) { error = "spec: no command"; return false; }
  for (const auto& m : spec.mounts) {
    if (m.target.empty() || (m.bind && m.source.empty())) { error = "spec: a mount without its source or target"; return false; }
  }
  if (spec.health.enabled() && (spec.health.exec_path.empty() || spec.health.state_path.empty() || spec.health.interval_ms == 0 ||
                                spec.health.timeout_ms == 0 || spec.health.start_interval_ms == 0 || spec.health.retries == 0)) {
    error = "spec: an incomplete healthcheck";
    return false;
  }
  if (spec.owner_pid > 0 && (spec.owner_remove_dir.empty() || spec.owner_remove_name.empty())) {
    error = "spec: an owner without the container to remove";
    return false;
  }
  if (spec.lower_dirs.empty() || spec.upper_dir.empty() || spec.work_dir.empty() || spec.rootfs.empty()) {
    error = "spec: rootfs directories missing";
    return false;
  }
  return true;
}
