// Published ports: the monitor listens on the host and forwards each TCP
// connection and UDP flow into the container. The upstream sockets are made
// inside the container's network namespace (setns there and back around
// socket()), so forwarding works whatever the container's network is, with no
// firewall rules. The host sockets are bound before the container starts, so
// a port is accepting connections the moment start() returns.
#pragma once
#include <netinet/in.h>
#include <poll.h>

#include <list>
#include <map>
#include <string>
#include <vector>

struct PortMapping {
  bool udp = false;
  std::string host_ip;       // "127.0.0.1", "0.0.0.0", …
  int host_port = 0;         // 0: the kernel picks; filled in by listen_all()
  std::string container_ip;  // where to connect inside the container's netns
  int container_port = 0;
  int fd = -1;               // the host socket
};

class PortForwarder {
 public:
  // Binds every mapping's host socket. On failure returns false with errno
  // set and the failing mapping's description in `failed`.
  bool listen_all(std::vector<PortMapping>& mappings, std::string& failed);
  // The network namespace of the container's current run (-1: none running).
  void set_container_netns(int netns_fd);
  // Appends the descriptors to watch; `handle` takes the same slice back.
  void add_pollfds(std::vector<pollfd>& fds);
  void handle(const pollfd* fds, size_t count);
  // Milliseconds until a pending connection retry, or -1.
  int next_timeout_ms() const;
  // Drops every connection (the container stopped); listeners stay.
  void drop_connections();

 private:
  struct TcpPair {
    const PortMapping* mapping;
    int client = -1, upstream = -1;
    bool connecting = false;
    int attempts = 0;
    long long retry_at_ms = 0;
    bool client_eof = false, upstream_eof = false;
    std::string to_upstream, to_client;
  };
  struct UdpFlow {
    const PortMapping* mapping;
    sockaddr_in client = {};
    int upstream = -1;
    long long last_used_ms = 0;
  };
  int upstream_socket(int type);
  bool start_connect(TcpPair& pair);
  void close_pair(TcpPair& pair);
  void on_udp_datagram(const PortMapping& mapping);

  std::vector<PortMapping>* mappings_ = nullptr;
  int container_netns_ = -1;
  int own_netns_ = -1;
  std::list<TcpPair> pairs_;
  size_t max_sockets_ = 256;       // what connections may hold (listen_all: about half of RLIMIT_NOFILE)
  long long listen_paused_until_ms_ = 0;
  size_t buffered_ = 0;  // allocated for every pair's buffers (counted in add_pollfds, grown by reads)
  std::list<UdpFlow> flows_;
  // what add_pollfds appended, in order, so handle() can find the owner
  struct Slot {
    enum Kind { kListener, kClient, kUpstream, kUdpUpstream } kind;
    void* owner;
  };
  std::vector<Slot> slots_;
};
