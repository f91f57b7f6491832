// The embedded DNS server of a container on bridge networks, Docker's
// 127.0.0.11: served by the container's monitor, so it answers as long as the
// container runs, with or without the Node process that started it.
//
// The listeners (UDP and TCP, 127.0.0.11:53) are created inside the
// container's network namespace at sync 1 of every run (netns_socket.h), with
// IP_FREEBIND because the child brings `lo` up only after sync 1. It answers
// A, AAAA and PTR for the names in the container's `dns-names` file — one
// `<name> <address>` per line, kept current by Node (lib/network/dns-names.ts)
// and read again whenever it changed (a stat per query) — and forwards every
// other question (over UDP, or over TCP when it came over TCP), from the
// monitor's own network namespace (the host's), to the host's name servers,
// one after the other, with a timeout.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <sys/stat.h>

#include <list>
#include <string>
#include <vector>

class DnsServer {
 public:
  // The names file and the upstream servers (IPv4 or IPv6 addresses; none:
  // names not in the file get NXDOMAIN). Off while `names_path` is empty.
  void configure(const std::string& names_path, const std::vector<std::string>& upstreams);
  bool enabled() const { return !names_path_.empty(); }
  // Binds 127.0.0.11:53 (UDP, TCP) in the network namespace of `pid`. False
  // with errno set and the failing socket in `failed`.
  bool listen_in(int pid, std::string& failed);
  // Appends the descriptors to watch; `handle` takes the same slice back.
  void add_pollfds(std::vector<pollfd>& fds);
  void handle(const pollfd* fds, size_t count);
  // Milliseconds until a forwarded question times out, or -1.
  int next_timeout_ms() const;
  // The run ended: listeners, connections and questions in flight go.
  void end_run();

 private:
  struct Record {
    std::string name;  // lower case, no trailing dot
    int family;        // AF_INET, AF_INET6
    unsigned char address[16];
  };
  struct TcpClient {
    unsigned long serial;
    int fd = -1;
    std::string in, out;
    long long idle_since_ms = 0;
  };
  struct Pending {
    int upstream = -1;             // a UDP socket connected to the current server
    size_t server = 0;             // index into upstreams_
    long long deadline_ms = 0;
    std::string query;
    std::string upstream_in, upstream_out;  // over TCP: what came and what is still to send
    sockaddr_storage client = {};  // a UDP client…
    socklen_t client_len = 0;
    unsigned long tcp_serial = 0;  // …or a TCP connection (0: UDP)
  };

  void reload_if_changed();
  // The answer to `query` (empty: drop it); `forward` set when it must go upstream.
  std::string answer(const std::string& query, size_t limit, bool& forward);
  void forward(const std::string& query, const sockaddr_storage* client, socklen_t client_len, unsigned long tcp_serial);
  bool send_upstream(Pending& pending);
  void on_upstream(Pending& pending, short revents);
  void reply(const Pending& pending, const std::string& response);
  void on_udp_query();
  void on_tcp_data(TcpClient& client);
  void answer_tcp(TcpClient& client);

  std::string names_path_;
  std::vector<sockaddr_storage> upstreams_;
  std::vector<Record> records_;
  struct stat names_stat_ = {};
  int own_netns_ = -1;
  int udp_ = -1, tcp_ = -1;
  std::list<TcpClient> tcp_clients_;
  unsigned long next_serial_ = 1;
  std::list<Pending> pending_;
  struct Slot {
    enum Kind { kUdp, kTcpListener, kTcpClient, kUpstream } kind;
    void* owner;
  };
  std::vector<Slot> slots_;
};
