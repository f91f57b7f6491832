#include "port_forward.h"

#include "netns_socket.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace {

const size_t kBufferLimit = 256 * 1024;  // per direction, before we stop reading
// in all connections' buffers together: past this a side is read from only
// while its buffer is empty (one read, 64 KiB, as docker-proxy holds), so
// connections that peers leave unread cannot take the monitor's memory
// (outside the container's cgroup), and those that flow keep flowing
const size_t kTotalBufferLimit = 8u << 20;
const int kConnectAttempts = 100;         // × 50 ms: the server may still be starting
const int kRetryMs = 50;
const long long kUdpIdleMs = 60 * 1000;

long long now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// Moves what `from` has into `buffer`, counted in `total`; false on EOF or a hard error.
bool read_into(int from, std::string& buffer, size_t& total) {
  char chunk[65536];
  ssize_t n = read(from, chunk, sizeof chunk);
  if (n > 0) {
    buffer.append(chunk, static_cast<size_t>(n));
    total += static_cast<size_t>(n);
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

// Writes what it can of `buffer` to `to`; false on a hard error.
bool write_from(int to, std::string& buffer) {
  ssize_t n = send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
  if (n > 0) buffer.erase(0, static_cast<size_t>(n));
  if (buffer.empty()) std::string().swap(buffer);  // an idle connection holds no memory
  return n >= 0 || errno == EAGAIN || errno == EINTR;
}

}  // namespace

bool PortForwarder::listen_all(std::vector<PortMapping>& mappings, std::string& failed) {
  mappings_ = &mappings;
  // connections may hold half of our descriptors (two a TCP connection, one
  // a UDP flow); the rest stay for the DNS server, the run and its helpers
  rlimit files = {};
  const rlim_t limit = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < (1u << 20) ? files.rlim_cur : (1u << 20);
  max_sockets_ = limit > 1024 ? (limit - 512) / 2 : limit / 4;
  own_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  for (auto& m : mappings) {
    failed = (m.udp ? "udp " : "tcp ") + m.host_ip + ":" + std::to_string(m.host_port);
    m.fd = socket(AF_INET, (m.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m.fd < 0) return false;
    int one = 1;
    setsockopt(m.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = address(m.host_ip, m.host_port);
    if (bind(m.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return false;
    if (!m.udp && listen(m.fd, 128) < 0) return false;
    socklen_t len = sizeof a;
    getsockname(m.fd, reinterpret_cast<sockaddr*>(&a), &len);
    m.host_port = ntohs(a.sin_port);
  }
  failed.clear();
  return own_netns_ >= 0 || mappings.empty();
}

void PortForwarder::set_container_netns(int netns_fd) {
  if (container_netns_ >= 0) close(container_netns_);
  container_netns_ = netns_fd;
}

// A socket in the container's network namespace.
int PortForwarder::upstream_socket(int type) {
  return netns_socket(container_netns_, own_netns_, AF_INET, type);
}

bool PortForwarder::start_connect(TcpPair& pair) {
  pair.upstream = upstream_socket(SOCK_STREAM);
  if (pair.upstream < 0) return false;
  sockaddr_in a = address(pair.mapping->container_ip, pair.mapping->container_port);
  if (connect(pair.upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
    close(pair.upstream);
    pair.upstream = -1;
    return errno == ECONNREFUSED;  // retried
  }
  pair.connecting = true;
  return true;
}

void PortForwarder::close_pair(TcpPair& pair) {
  if (pair.client >= 0) close(pair.client);
  if (pair.upstream >= 0) close(pair.upstream);
  pair.client = pair.upstream = -1;
}

void PortForwarder::drop_connections() {
  for (auto& pair : pairs_) close_pair(pair);
  pairs_.clear();
  for (auto& flow : flows_) close(flow.upstream);
  flows_.clear();
  set_container_netns(-1);
}

void PortForwarder::add_pollfds(std::vector<pollfd>& fds) {
  slots_.clear();
  auto add = [&](int fd, short events, Slot::Kind kind, void* owner) {
    fds.push_back({fd, events, 0});
    slots_.push_back({kind, owner});
  };
  if (!mappings_) return;
  long long now = now_ms();
  // (a TCP listener whose accept failed for want of descriptors waits a little: its backlog stays readable)
  for (auto& m : *mappings_) add(!m.udp && now < listen_paused_until_ms_ ? -1 : m.fd, POLLIN, Slot::kListener, &m);
  buffered_ = 0;
  for (const auto& p : pairs_) buffered_ += p.to_upstream.capacity() + p.to_client.capacity();  // what they hold allocated
  const bool room = buffered_ < kTotalBufferLimit;
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    TcpPair& p = *it;
    if (p.client < 0 || (p.client_eof && p.upstream_eof && p.to_client.empty() && p.to_upstream.empty())) {
      close_pair(p);
      it = pairs_.erase(it);
      continue;
    }
    if (p.upstream < 0 && p.retry_at_ms <= now) {
      if (!start_connect(p) || ++p.attempts > kConnectAttempts) {
        close_pair(p);
        it = pairs_.erase(it);
        continue;
      }
      if (p.upstream < 0) p.retry_at_ms = now + kRetryMs;
    }
    short client_events = 0, upstream_events = 0;
    if (!p.client_eof && p.to_upstream.size() < kBufferLimit && (room || p.to_upstream.empty())) client_events |= POLLIN;
    if (!p.to_client.empty()) client_events |= POLLOUT;
    if (p.connecting) upstream_events |= POLLOUT;
    else if (p.upstream >= 0) {
      if (!p.upstream_eof && p.to_client.size() < kBufferLimit && (room || p.to_client.empty())) upstream_events |= POLLIN;
      if (!p.to_upstream.empty()) upstream_events |= POLLOUT;
    }
    // a side with nothing to do is not polled: a socket shut down both ways
    // reports POLLHUP whatever is asked, and would wake us at once, again and
    // again, while the other side does not read
    add(client_events ? p.client : -1, client_events, Slot::kClient, &p);
    if (p.upstream >= 0) add(upstream_events ? p.upstream : -1, upstream_events, Slot::kUpstream, &p);
    ++it;
  }
  for (auto it = flows_.begin(); it != flows_.end();) {
    if (now - it->last_used_ms > kUdpIdleMs) {
      close(it->upstream);
      it = flows_.erase(it);
      continue;
    }
    add(it->upstream, POLLIN, Slot::kUdpUpstream, &*it);
    ++it;
  }
}

int PortForwarder::next_timeout_ms() const {
  long long next = -1, now = now_ms();
  if (listen_paused_until_ms_ > now) next = listen_paused_until_ms_ - now;
  for (const auto& p : pairs_) {
    if (p.upstream >= 0) continue;
    long long wait = p.retry_at_ms > now ? p.retry_at_ms - now : 0;
    if (next < 0 || wait < next) next = wait;
  }
  return static_cast<int>(next);
}

void PortForwarder::on_udp_datagram(const PortMapping& m) {
  char datagram[65536];
  sockaddr_in from = {};
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(m.fd, datagram, sizeof datagram, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return;
  UdpFlow* flow = nullptr;
  for (auto& f : flows_) {
    if (f.mapping == &m && f.client.sin_addr.s_addr == from.sin_addr.s_addr && f.client.sin_port == from.sin_port) flow = &f;
  }
  if (!flow) {
    if (2 * pairs_.size() + flows_.size() + 1 > max_sockets_) return;  // as many as we hold sockets for: dropped
    int fd = upstream_socket(SOCK_DGRAM);
    if (fd < 0) return;
    sockaddr_in to = address(m.container_ip, m.container_port);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      close(fd);
      return;
    }
    flows_.push_back({&m, from, fd, 0});
    flow = &flows_.back();
  }
  flow->last_used_ms = now_ms();
  send(flow->upstream, datagram, static_cast<size_t>(n), MSG_NOSIGNAL);
}

void PortForwarder::handle(const pollfd* fds, size_t count) {
  for (size_t i = 0; i < count && i < slots_.size(); i++) {
    const short revents = fds[i].revents;
    if (!revents) continue;
    Slot& slot = slots_[i];
    switch (slot.kind) {
      case Slot::kListener: {
        auto& m = *static_cast<PortMapping*>(slot.owner);
        if (m.udp) {
          on_udp_datagram(m);
          break;
        }
        int client = accept4(m.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) listen_paused_until_ms_ = now_ms() + kRetryMs;
          break;
        }
        if (2 * pairs_.size() + flows_.size() + 2 > max_sockets_) {  // as many as we hold sockets for: refused
          close(client);
          break;
        }
        pairs_.push_back({});
        TcpPair& pair = pairs_.back();
        pair.mapping = &m;
        pair.client = client;
        if (!start_connect(pair)) close_pair(pair);
        else if (pair.upstream < 0) pair.retry_at_ms = now_ms() + kRetryMs;
        break;
      }
      case Slot::kClient: {
        auto& p = *static_cast<TcpPair*>(slot.owner);
        if (p.client < 0) break;
        const bool readable = (revents & POLLIN) || (revents & POLLHUP && !(revents & POLLOUT));
        if (readable && (buffered_ < kTotalBufferLimit || p.to_upstream.empty())) {  // (again: one poll wakes many)
          if (!read_into(p.client, p.to_upstream, buffered_)) {
            p.client_eof = true;
            if (p.upstream >= 0 && !p.connecting && p.to_upstream.empty()) shutdown(p.upstream, SHUT_WR);
          }
        }
        if (revents & POLLOUT) {
          if (!write_from(p.client, p.to_client)) close_pair(p);
          else if (p.upstream_eof && p.to_client.empty()) shutdown(p.client, SHUT_WR);
        }
        if (revents & POLLERR) close_pair(p);
        break;
      }
      case Slot::kUpstream: {
        auto& p = *static_cast<TcpPair*>(slot.owner);
        if (p.upstream < 0) break;
        if (p.connecting) {
          int error = 0;
          socklen_t len = sizeof error;
          getsockopt(p.upstream, SOL_SOCKET, SO_ERROR, &error, &len);
          if (error == 0) {
            p.connecting = false;
            // a client that half-closed meanwhile with nothing to send: its end of file now
            if (p.client_eof && p.to_upstream.empty()) shutdown(p.upstream, SHUT_WR);
          } else {
            close(p.upstream);
            p.upstream = -1;
            p.connecting = false;
            if (error == ECONNREFUSED && p.attempts < kConnectAttempts) p.retry_at_ms = now_ms() + kRetryMs;
            else close_pair(p);
          }
          break;
        }
        if (((revents & POLLIN) || (revents & POLLHUP)) && (buffered_ < kTotalBufferLimit || p.to_client.empty())) {
          if (!read_into(p.upstream, p.to_client, buffered_)) p.upstream_eof = true;
        }
        if (revents & POLLOUT) {
          if (!write_from(p.upstream, p.to_upstream)) close_pair(p);
          else if (p.client_eof && p.to_upstream.empty()) shutdown(p.upstream, SHUT_WR);
        }
        if (p.upstream_eof && p.to_client.empty() && p.client >= 0) shutdown(p.client, SHUT_WR);
        if (revents & POLLERR) close_pair(p);
        break;
      }
      case Slot::kUdpUpstream: {
        auto& flow = *static_cast<UdpFlow*>(slot.owner);
        char datagram[65536];
        ssize_t n = recv(flow.upstream, datagram, sizeof datagram, 0);
        if (n < 0) break;
        flow.last_used_ms = now_ms();
        sendto(flow.mapping->fd, datagram, static_cast<size_t>(n), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&flow.client), sizeof flow.client);
        break;
      }
    }
  }
}
