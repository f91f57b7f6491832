#include "spec.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "key_value_file.h"

namespace {

// The monitor's keys besides the process's (process_spec.cc). `mount` starts
// a mount and may repeat; each mount-* key fills in the latest mount, at most
// once per mount (checked below).
const KeyValueKey kSpecKeys[] = {
    {"lower", KeyValueKind::kPath, true},
    {"upper", KeyValueKind::kPath},
    {"work", KeyValueKind::kPath},
    {"rootfs", KeyValueKind::kPath},
    {"readonly-rootfs", KeyValueKind::kFlag},
    {"mask", KeyValueKind::kPath, true},
    {"readonly", KeyValueKind::kPath, true},
    {"sys-writable", KeyValueKind::kFlag},
    {"device", KeyValueKind::kText, true},
    {"mount", KeyValueKind::kText, true},
    {"mount-source", KeyValueKind::kPath, true},
    {"mount-target", KeyValueKind::kPath, true},
    {"mount-data", KeyValueKind::kText, true},
    {"mount-options", KeyValueKind::kText, true},
    {"root-propagation", KeyValueKind::kText},
    {"hostname", KeyValueKind::kText},
    {"cgroup-dir", KeyValueKind::kPath},
    {"cgroup-procs", KeyValueKind::kPath, true},
    {"oom-counter", KeyValueKind::kPath},
    {"cgroup-remove", KeyValueKind::kPath, true},
    {"network-mode", KeyValueKind::kText},
    {"network-join", KeyValueKind::kPath},
    {"network-host-ip", KeyValueKind::kText, true},
    {"network-container-ip", KeyValueKind::kText, true},
    {"slirp4netns", KeyValueKind::kPath},
    {"slirp4netns-host-loopback", KeyValueKind::kFlag},
    {"port", KeyValueKind::kText, true},
    {"dns-names", KeyValueKind::kPath},
    {"dns-forward", KeyValueKind::kText, true},
    {"restart", KeyValueKind::kText},
    {"restart-max", KeyValueKind::kNumber, false, 0x7fffffff},
    {"stop-marker", KeyValueKind::kPath},
    {"auto-remove-dir", KeyValueKind::kPath},
    {"auto-remove-name", KeyValueKind::kPath},
    {"attach", KeyValueKind::kFlag},
    {"log", KeyValueKind::kPath},
    {"log-max-files", KeyValueKind::kNumber, false, 1000},
    {"log-max-bytes", KeyValueKind::kNumber},
    {"exit-file", KeyValueKind::kPath},
    {"pid-file", KeyValueKind::kPath},
    {"health-exec", KeyValueKind::kPath},
    {"health-spec", KeyValueKind::kPath},
    {"health-file", KeyValueKind::kPath},
    {"health-interval-ms", KeyValueKind::kNumber, false, 0xffffffffULL},
    {"health-timeout-ms", KeyValueKind::kNumber, false, 0xffffffffULL},
    {"health-start-period-ms", KeyValueKind::kNumber, false, 0xffffffffULL},
    {"health-start-interval-ms", KeyValueKind::kNumber, false, 0xffffffffULL},
    {"health-retries", KeyValueKind::kNumber, false, 0x7fffffff},
    {"owner-pid", KeyValueKind::kNumber, false, 0x7fffffff},
    {"owner-start-time", KeyValueKind::kNumber},
    {"owner-remove-dir", KeyValueKind::kPath},
    {"owner-remove-name", KeyValueKind::kPath},
    {"owner-remove-volume", KeyValueKind::kPath, true},
    {"owner-volumes-lock", KeyValueKind::kPath},
    {"owner-containers-dir", KeyValueKind::kPath},
    {"uid-map", KeyValueKind::kText, true},
    {"gid-map", KeyValueKind::kText, true},
    {"map-with", KeyValueKind::kText},
    {"newuidmap", KeyValueKind::kPath},
    {"newgidmap", KeyValueKind::kPath},
    {"overlay-userxattr", KeyValueKind::kFlag},
    {"idmap-lower", KeyValueKind::kFlag},
    {"lower-mapped", KeyValueKind::kPath, true},
};

// The largest spec: far above what the largest argv and environment make.
constexpr size_t kMaxSpecFile = 64u << 20;

bool one_of(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return true;
  }
  return false;
}

// "0 100000 65536": container id, host id, size; all decimal, size ≥ 1.
bool is_id_mapping(const std::string& v) {
  unsigned long long container_id = 0, host_id = 0, size = 0;
  int consumed = 0;
  if (sscanf(v.c_str(), "%llu %llu %llu%n", &container_id, &host_id, &size, &consumed) != 3) return false;
  const unsigned long long limit = 0xffffffffULL;
  // each below 2^32 first, so the sums below cannot wrap
  return static_cast<size_t>(consumed) == v.size() && v.find_first_not_of("0123456789 ") == std::string::npos &&
         container_id < limit && host_id < limit && size < limit && size >= 1 && container_id + size <= limit &&
         host_id + size <= limit;
}

// "ro,nosuid,rslave,idmap": mount flags, at most one propagation, idmap.
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
    bool found = word == "idmap";
    if (found) m.idmap = true;
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

// "c:8:0:660:0:6:/dev/sda": type, major, minor, mode (octal), uid, gid, path.
bool parse_device(const std::string& v, DeviceNode& d) {
  int path_start = -1;
  if (sscanf(v.c_str(), "%c:%u:%u:%o:%u:%u:%n", &d.type, &d.major, &d.minor, &d.mode, &d.uid, &d.gid, &path_start) != 6 ||
      path_start < 0)
    return false;
  d.path = v.substr(static_cast<size_t>(path_start));
  return (d.type == 'c' || d.type == 'b') && d.mode <= 07777 && d.path.compare(0, 5, "/dev/") == 0 &&
         d.path.find("/../") == std::string::npos && d.path.find("/./") == std::string::npos &&
         d.path.find("//") == std::string::npos && d.path.back() != '/' && d.path.back() != '.';
}

}  // namespace

bool spec_read(int fd, Spec& spec, std::string& error) {
  KeyValueBuffer data;
  KeyValueSchema schema({kProcessSpecKeys, KeyValueSchema::table(kSpecKeys)});
  std::string key, value, mount_keys;  // mount_keys: the mount-* keys the latest mount has
  for (;;) {
    if (!key_value_next_from(fd, data, key, value, error, kMaxSpecFile)) return false;
    if (key == "end") {  // the whole spec arrived; nothing may follow
      if (!value.empty()) { error = "spec: `end` takes no value"; return false; }
      if (data.start != data.data.size()) { error = "spec: records after `end`"; return false; }
      break;
    }
    if (!schema.accept(key, value, error)) return false;
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
    else if (key == "sys-writable") spec.sys_writable = value == "1";
    else if (key == "device") {
      DeviceNode d;
      if (!parse_device(value, d)) { error = "spec: bad device `" + value + "`"; return false; }
      spec.devices.push_back(d);
    }
    else if (key == "mount") {
      // starts a mount; the mount-* keys after it fill it in
      if (value != "bind" && value != "tmpfs") { error = "spec: bad mount type `" + value + "`"; return false; }
      spec.mounts.emplace_back();
      spec.mounts.back().bind = value == "bind";
      mount_keys = " ";
    } else if (key.compare(0, 6, "mount-") == 0) {
      if (spec.mounts.empty()) { error = "spec: `" + key + "` before any `mount`"; return false; }
      if (mount_keys.find(" " + key + " ") != std::string::npos) { error = "spec: key `" + key + "` given twice for one mount"; return false; }
      mount_keys += key + " ";
      Mount& m = spec.mounts.back();
      if (key == "mount-source") m.source = value;
      else if (key == "mount-target") m.target = value;
      else if (key == "mount-data") m.data = value;
      else if (!parse_mount_options(value, m)) { error = "spec: bad mount options `" + value + "`"; return false; }
    }
    else if (key == "root-propagation") {
      if (!one_of(value, {"rprivate", "rslave"})) { error = "spec: bad root-propagation `" + value + "`"; return false; }
      spec.root_propagation = value == "rslave" ? MS_SLAVE : MS_PRIVATE;
    }
    else if (key == "hostname") spec.hostname = value;
    else if (key == "cgroup-dir") spec.cgroup_dir = value;
    else if (key == "cgroup-procs") spec.cgroup_procs.push_back(value);
    else if (key == "oom-counter") spec.oom_counter = value;
    else if (key == "cgroup-remove") spec.cgroup_remove.push_back(value);
    else if (key == "network-mode") {
      if (!one_of(value, {"none", "bridge", "host", "container", "slirp4netns"})) { error = "spec: bad network-mode `" + value + "`"; return false; }
      spec.network_mode = value;
    }
    else if (key == "network-join") spec.network_join = value;
    else if (key == "network-host-ip") spec.network_host_commands.push_back(value);
    else if (key == "network-container-ip") spec.network_container_commands.push_back(value);
    else if (key == "slirp4netns") spec.slirp4netns = value;
    else if (key == "slirp4netns-host-loopback") spec.slirp4netns_host_loopback = value == "1";
    else if (key == "port") {
      // proto:hostIp:hostPort:containerIp:containerPort (IPv4)
      PortMapping m;
      char proto[4] = {}, host_ip[16] = {}, container_ip[16] = {};
      int consumed = 0;
      if (sscanf(value.c_str(), "%3[a-z]:%15[0-9.]:%d:%15[0-9.]:%d%n", proto, host_ip, &m.host_port, container_ip,
                 &m.container_port, &consumed) != 5 || static_cast<size_t>(consumed) != value.size() ||
          !one_of(proto, {"tcp", "udp"})) {
        error = "spec: bad port `" + value + "`";
        return false;
      }
      m.udp = std::string(proto) == "udp";
      m.host_ip = host_ip;
      m.container_ip = container_ip;
      spec.ports.push_back(m);
    }
    else if (key == "dns-names") spec.dns_names = value;
    else if (key == "dns-forward") {
      unsigned char address[16];
      if (inet_pton(AF_INET, value.c_str(), address) != 1 && inet_pton(AF_INET6, value.c_str(), address) != 1) {
        error = "spec: bad dns-forward `" + value + "`";
        return false;
      }
      spec.dns_forward.push_back(value);
    }
    else if (key == "restart") {
      if (!one_of(value, {"no", "on-failure", "always", "unless-stopped"})) { error = "spec: bad restart `" + value + "`"; return false; }
      spec.restart_policy = value;
    }
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
    else if (key == "uid-map" || key == "gid-map") {
      if (!is_id_mapping(value)) { error = "spec: bad " + key + " `" + value + "`"; return false; }
      (key == "uid-map" ? spec.uid_map : spec.gid_map).push_back(value);
    }
    else if (key == "map-with") {
      if (!one_of(value, {"write", "newuidmap"})) { error = "spec: bad map-with `" + value + "`"; return false; }
      spec.map_with_newuidmap = value == "newuidmap";
    }
    else if (key == "newuidmap") spec.newuidmap = value;
    else if (key == "newgidmap") spec.newgidmap = value;
    else if (key == "overlay-userxattr") spec.overlay_userxattr = value == "1";
    else if (key == "idmap-lower") spec.idmap_lower = value == "1";
    else if (key == "lower-mapped") spec.lower_mapped.push_back(value);
    else { error = "spec: unknown key `" + key + "`"; return false; }
  }
  if (!process_spec_complete(schema, error)) return false;
  if (!schema.require({"lower", "upper", "work", "rootfs", "exit-file", "pid-file"}, error)) return false;
  for (const auto& m : spec.mounts) {
    if (m.target.empty() || (m.bind && m.source.empty())) { error = "spec: a mount without its source or target"; return false; }
  }
  if (spec.health.enabled() && (spec.health.exec_path.empty() || spec.health.state_path.empty() || spec.health.interval_ms == 0 ||
                                spec.health.timeout_ms == 0 || spec.health.start_interval_ms == 0 || spec.health.retries == 0)) {
    error = "spec: an incomplete healthcheck";
    return false;
  }
  if ((spec.network_mode == "slirp4netns") != !spec.slirp4netns.empty()) {
    error = "spec: network-mode slirp4netns and its slirp4netns binary go together";
    return false;
  }
  if (spec.uid_map.empty() != spec.gid_map.empty()) { error = "spec: uid-map and gid-map go together"; return false; }
  if (spec.map_with_newuidmap && (spec.newuidmap.empty() || spec.newgidmap.empty())) {
    error = "spec: map-with newuidmap needs the newuidmap and newgidmap paths";
    return false;
  }
  if (spec.idmap_lower && spec.map_with_newuidmap) { error = "spec: idmap-lower needs map-with write"; return false; }
  for (const auto& dir : spec.lower_mapped) {
    if (!spec.idmap_lower || std::find(spec.lower_dirs.begin(), spec.lower_dirs.end(), dir) == spec.lower_dirs.end()) {
      error = "spec: lower-mapped `" + dir + "` is not an idmapped lower";
      return false;
    }
  }
  if (!spec.userns() && (spec.idmap_lower || spec.overlay_userxattr)) {
    error = "spec: idmap-lower and overlay-userxattr need a user namespace (uid-map)";
    return false;
  }
  for (const auto& m : spec.mounts) {
    if (m.idmap && (!m.bind || !spec.userns() || spec.map_with_newuidmap)) {
      error = "spec: an idmap mount needs a bind mount in a user namespace the monitor maps (map-with write)";
      return false;
    }
  }
  if (spec.owner_pid > 0 && (spec.owner_remove_dir.empty() || spec.owner_remove_name.empty())) {
    error = "spec: an owner without the container to remove";
    return false;
  }
  return true;
}
