// The monitor's input: what Node decided (policy), as plain values.
// Written by lib/container/monitor-spec.ts as length-prefixed records
// (key_value_file.h). The reader refuses an unknown key, a second value for a
// key that takes one (kSpecKeys in spec.cc and kProcessSpecKeys in
// process_spec.cc say which may repeat), a value of the wrong kind (a path
// that is not absolute, a number out of range, a flag not 0/1), a truncated
// file, and a spec without its command, user, working directory, rootfs
// directories or state files.
#pragma once
#include <string>
#include <vector>
#include <sys/mount.h>

#include "health_check.h"
#include "port_forward.h"
#include "process_spec.h"

// A mount made inside the container's rootfs (container_setup.cc, step
// "mounts"): a bind mount of a host path (volumes are bind mounts of their
// `_data` directory) or a tmpfs. The target is resolved inside the rootfs.
struct Mount {
  bool bind = true;                // else a tmpfs
  std::string source;              // bind: the host path (a directory or a file)
  std::string target;              // the path in the container, as the user wrote it
  unsigned long flags = 0;         // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC
  unsigned long propagation = 0;   // MS_PRIVATE, MS_SLAVE or MS_SHARED (| MS_REC); 0: leave it
  std::string data;                // tmpfs: "size=…,mode=…"
  bool idmap = false;              // in a user namespace made by root: an idmapped mount of the source
};

// A device node made in the container's /dev (privileged: the host's).
struct DeviceNode {
  char type = 'c';                 // 'c' or 'b'
  unsigned major = 0, minor = 0;
  unsigned mode = 0;               // permission bits
  unsigned uid = 0, gid = 0;
  std::string path;                // /dev/…
};

struct Spec {
  // filesystem
  std::vector<std::string> lower_dirs;  // top-most first
  std::string upper_dir;
  std::string work_dir;
  std::string rootfs;                   // where the overlay is mounted
  bool readonly_rootfs = false;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  bool sys_writable = false;            // privileged: /sys read-write
  std::vector<DeviceNode> devices;      // privileged: the host's device nodes
  std::vector<Mount> mounts;            // in order: a parent before what is mounted below it
  unsigned long root_propagation = MS_PRIVATE;  // or MS_SLAVE (a mount asked for slave/shared), for all of /
  // process
  ProcessSpec process;                  // open_stdin: the container reads the monitor's fd 0
  std::string hostname;
  bool attach = false;                  // also copy output to the monitor's fds 1 and 2
  // network
  std::string network_mode = "none";        // none (own netns, lo only) | bridge (own netns and veths) | host | container
                                            // | slirp4netns (own netns, tap0 served by slirp4netns: slirp_network.h)
  std::string network_join;                 // container mode: the other container's /proc/<pid>/ns/net
  std::string slirp4netns;                  // slirp4netns mode: the binary (found by Node)
  bool slirp4netns_host_loopback = false;   // and allow_host_loopback (10.0.2.2 reaches the host's 127.0.0.1)
  std::vector<PortMapping> ports;           // published ports
  std::vector<std::string> network_host_commands;       // `ip -batch` lines run on the host ({pid} substituted)
  std::vector<std::string> network_container_commands;  // and inside the container's network namespace
  std::string dns_names;                    // bridge networks: the embedded DNS server's names file (dns_server.h)
  std::vector<std::string> dns_forward;     // and the name servers it forwards other questions to
  // cgroups (created and limited by Node; the monitor only places and cleans)
  std::string cgroup_dir;                     // v2: the child is born in it (CLONE_INTO_CGROUP)
  std::vector<std::string> cgroup_procs;      // v1: cgroup.procs files; the child joins through the `tasks` file beside each
  std::string oom_counter;                    // memory.events / memory.oom_control ("oom_kill N")
  std::vector<std::string> cgroup_remove;     // removed after the exit
  // monitor
  std::string restart_policy;        // no | on-failure | always | unless-stopped
  unsigned long restart_max = 0;     // on-failure:N; 0 = no maximum
  std::string stop_marker;           // exists when the user stopped the container: no more restarts
  std::string auto_remove_dir;       // Docker's --rm: the container directory, removed after the exit
  std::string auto_remove_name;      // and its name link
  std::string log_path;
  unsigned long long log_max_bytes = 0;  // 0: unbounded
  unsigned log_max_files = 2;
  std::string exit_path;
  std::string pid_path;
  // owner-bound (removeOnOwnerExit): the creating process, and what to remove when it exits
  int owner_pid = 0;                           // 0: not owner-bound
  unsigned long long owner_start_time = 0;     // its /proc start time (against pid reuse)
  std::string owner_remove_dir;                // the container directory
  std::string owner_remove_name;               // its name link
  std::vector<std::string> owner_remove_volumes;  // its anonymous volumes' directories
  std::string owner_volumes_lock;              // held while removing them
  std::string owner_containers_dir;            // searched for other users of a volume
  // user namespace: none when uid_map is empty (docs/architecture.md, "The container's first process")
  std::vector<std::string> uid_map;     // "containerId hostId size" each, as /proc/<pid>/uid_map takes them
  std::vector<std::string> gid_map;
  bool map_with_newuidmap = false;      // map-with newuidmap (a rootless caller); else the monitor writes them
  std::string newuidmap, newgidmap;     // the setuid tools, found by Node
  bool overlay_userxattr = false;       // overlay's `userxattr` (mounted inside the user namespace)
  bool idmap_lower = false;             // the lower layers as idmapped mounts (a root caller)
  std::vector<std::string> lower_mapped;  // but these lowers, which hold mapped host ids already (snapshots)
  bool userns() const { return !uid_map.empty(); }
  // healthcheck (run by the monitor through berth-exec)
  HealthSpec health;
};

// Reads the spec from `fd` (the monitor's fd 4, a pipe from Node), up to
// its closing `end` record; on failure returns false and fills `error`.
bool spec_read(int fd, Spec& spec, std::string& error);
