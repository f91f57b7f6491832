#include "dns_server.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netns_socket.h"

namespace {

const char kListenAddress[] = "127.0.0.11";
const int kDnsPort = 53;
const long long kForwardTimeoutMs = 2000;  // per upstream server, as resolv.conf's default
const long long kTcpIdleMs = 10 * 1000;
const size_t kMaxPending = 256;            // questions in flight upstream
const size_t kMaxTcpClients = 32;
const size_t kTcpOutLimit = 256 * 1024;    // answers a TCP client has not read: then we stop reading from it
const size_t kMaxNamesFile = 4u << 20;
const size_t kUdpLimit = 512;              // no EDNS: the classic UDP size
const unsigned kTtl = 600;                 // Docker's

const int kTypeA = 1, kTypePtr = 12, kTypeAaaa = 28, kClassIn = 1;
const int kFormErr = 1, kServFail = 2, kNxDomain = 3, kNotImp = 4;

long long now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

unsigned get16(const std::string& s, size_t at) {
  return (static_cast<unsigned char>(s[at]) << 8) | static_cast<unsigned char>(s[at + 1]);
}

void put16(std::string& s, unsigned v) {
  s += static_cast<char>((v >> 8) & 0xff);
  s += static_cast<char>(v & 0xff);
}

void put32(std::string& s, unsigned v) {
  put16(s, v >> 16);
  put16(s, v & 0xffff);
}

// A name as a DNS container name may be: letters, digits, `_ . -`, in
// labels DNS can carry (at most 63 bytes: a longer container name is never
// answered, nor sent back in a PTR answer as a malformed label).
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
    label = c == '.' ? 0 : label + 1;
    if (label > 63) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// `d.c.b.a.in-addr.arpa` / nibbles `….ip6.arpa`: the name a PTR question asks for.
std::string reverse_name(int family, const unsigned char* address) {
  static const char kHex[] = "0123456789abcdef";
  std::string name;
  if (family == AF_INET) {
    for (int i = 3; i >= 0; i--) name += std::to_string(address[i]) + ".";
    return name + "in-addr.arpa";
  }
  for (int i = 15; i >= 0; i--) {
    name += kHex[address[i] & 0xf];
    name += '.';
    name += kHex[address[i] >> 4];
    name += '.';
  }
  return name + "ip6.arpa";
}

// The labels of a name, for an answer's data.
std::string encode_name(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {
      out += static_cast<char>(dot - start);
      out.append(name, start, dot - start);
    }
    start = dot + 1;
  }
  return out + '\0';
}

// The one question of a query: its name (lower case, dotted; `plain` false
// when a label holds a byte no container name has) and where it ends.
struct Question {
  std::string name;
  bool plain = true;
  unsigned type = 0, klass = 0;
  size_t end = 0;  // offset after qclass
};

// 0 or the response code that refuses the query.
int parse_question(const std::string& q, Question& question) {
  const unsigned flags = get16(q, 2);
  if (((flags >> 11) & 0xf) != 0) return kNotImp;
  if (get16(q, 4) != 1) return kFormErr;
  size_t at = 12;
  for (;;) {
    if (at >= q.size()) return kFormErr;
    const unsigned length = static_cast<unsigned char>(q[at]);
    if (length == 0) break;
    if (length > 63 || at + 1 + length > q.size()) return kFormErr;  // (compression has no place in a question)
    if (!question.name.empty()) question.name += '.';
    const std::string label = lower(q.substr(at + 1, length));
    if (label.find('.') != std::string::npos || !plain_name(label)) question.plain = false;
    question.name += label;
    if (question.name.size() > 253) return kFormErr;
    at += 1 + length;
  }
  at++;
  if (at + 4 > q.size()) return kFormErr;
  question.type = get16(q, at);
  question.klass = get16(q, at + 2);
  question.end = at + 4;
  return 0;
}

// A response's header and question: the query's id, QR, RD as asked, RA; AA
// for the names we hold (with or without records of the type asked).
std::string response_head(const std::string& q, const Question& question, int rcode, unsigned answers, bool truncated,
                          bool authoritative = false) {
  std::string r;
  r.append(q, 0, 2);
  const unsigned flags = 0x8000 | (get16(q, 2) & 0x0100) | 0x0080 | (truncated ? 0x0200 : 0) | (rcode & 0xf);
  put16(r, flags | (authoritative ? 0x0400 : 0));
  put16(r, question.end ? 1 : 0);
  put16(r, answers);
  put16(r, 0);
  put16(r, 0);
  if (question.end) r.append(q, 12, question.end - 12);
  return r;
}

std::string error_response(const std::string& q, int rcode) {
  Question question;
  if (q.size() < 12) return "";
  if (parse_question(q, question) != 0) question.end = 0;
  return response_head(q, question, rcode, 0, false);
}

bool parse_server(const std::string& text, sockaddr_storage& out) {
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(kDnsPort);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(kDnsPort);
    return true;
  }
  return false;
}

socklen_t address_length(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

}  // namespace

void DnsServer::configure(const std::string& names_path, const std::vector<std::string>& upstreams) {
  names_path_ = names_path;
  upstreams_.clear();
  for (const auto& text : upstreams) {
    sockaddr_storage a;
    if (parse_server(text, a)) upstreams_.push_back(a);
  }
}

bool DnsServer::listen_in(int pid, std::string& failed) {
  if (!enabled()) return true;
  end_run();
  failed = "/proc/" + std::to_string(pid) + "/ns/net";
  if (own_netns_ < 0) own_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int netns = open(failed.c_str(), O_RDONLY | O_CLOEXEC);
  if (netns < 0 || own_netns_ < 0) {
    int saved = errno;
    if (netns >= 0) close(netns);
    errno = saved;
    return false;
  }
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(kDnsPort);
  inet_pton(AF_INET, kListenAddress, &a.sin_addr);
  bool ok = true;
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    failed = std::string(type == SOCK_DGRAM ? "udp " : "tcp ") + kListenAddress + ":53";
    int fd = netns_socket(netns, own_netns_, AF_INET, type);
    (type == SOCK_DGRAM ? udp_ : tcp_) = fd;
    int one = 1;
    // lo comes up in the child after sync 1: bind to the address before it
    // exists. No SO_REUSEADDR on the UDP socket: nothing in the container
    // may bind beside it and take its questions.
    ok = fd >= 0 && setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof one) == 0 &&
         bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && (type == SOCK_DGRAM || listen(fd, 64) == 0);
    if (!ok) break;
  }
  int saved = errno;
  close(netns);
  if (!ok) end_run();
  errno = saved;
  if (ok) failed.clear();
  return ok;
}

void DnsServer::end_run() {
  for (int* fd : {&udp_, &tcp_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  for (auto& client : tcp_clients_)
    if (client.fd >= 0) close(client.fd);
  tcp_clients_.clear();
  for (auto& pending : pending_)
    if (pending.upstream >= 0) close(pending.upstream);
  pending_.clear();
}

void DnsServer::reload_if_changed() {
  struct stat st = {};
  if (stat(names_path_.c_str(), &st) < 0) {
    records_.clear();
    names_stat_ = {};
    return;
  }
  if (st.st_ino == names_stat_.st_ino && st.st_size == names_stat_.st_size &&
      st.st_mtim.tv_sec == names_stat_.st_mtim.tv_sec && st.st_mtim.tv_nsec == names_stat_.st_mtim.tv_nsec)
    return;
  names_stat_ = st;
  records_.clear();
  int fd = open(names_path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  std::string text;
  char chunk[8192];
  ssize_t n;
  while (text.size() < kMaxNamesFile && (n = read(fd, chunk, sizeof chunk)) > 0) text.append(chunk, static_cast<size_t>(n));
  close(fd);
  // `<name> <address>` per line; a line that is not exactly that is skipped
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    Record record;
    record.name = lower(line.substr(0, space));
    const std::string address = line.substr(space + 1);
    if (!plain_name(record.name)) continue;
    if (inet_pton(AF_INET, address.c_str(), record.address) == 1) record.family = AF_INET;
    else if (inet_pton(AF_INET6, address.c_str(), record.address) == 1) record.family = AF_INET6;
    else continue;
    records_.push_back(record);
  }
}

std::string DnsServer::answer(const std::string& q, size_t limit, bool& forward) {
  forward = false;
  if (q.size() < 12 || (get16(q, 2) & 0x8000)) return "";  // not a query: no answer
  Question question;
  if (int refused = parse_question(q, question)) return error_response(q, refused);
  reload_if_changed();
  std::string answers;
  unsigned count = 0;
  bool known = false, truncated = false;
  auto add = [&](unsigned type, const std::string& data) {
    std::string rr;
    put16(rr, 0xc00c);  // the question's name
    put16(rr, type);
    put16(rr, kClassIn);
    put32(rr, kTtl);
    put16(rr, static_cast<unsigned>(data.size()));
    rr += data;
    if (12 + (question.end - 12) + answers.size() + rr.size() > limit) {
      truncated = true;
      return;
    }
    answers += rr;
    count++;
  };
  if (question.plain && question.klass == kClassIn) {
    for (const auto& record : records_) {
      if (question.type == kTypePtr) {
        if (count == 0 && reverse_name(record.family, record.address) == question.name) {
          known = true;
          add(kTypePtr, encode_name(record.name));
        }
        continue;
      }
      if (record.name != question.name) continue;
      known = true;
      const int family = question.type == kTypeA ? AF_INET : question.type == kTypeAaaa ? AF_INET6 : 0;
      if (record.family == family)
        add(question.type, std::string(reinterpret_cast<const char*>(record.address), family == AF_INET ? 4 : 16));
    }
  }
  if (!known) {
    if (!upstreams_.empty()) {
      forward = true;
      return "";
    }
    return response_head(q, question, kNxDomain, 0, false);
  }
  return response_head(q, question, 0, count, truncated, true) + answers;
}

void DnsServer::forward(const std::string& query, const sockaddr_storage* client, socklen_t client_len,
                        unsigned long tcp_serial) {
  if (pending_.size() >= kMaxPending) return;  // the client asks again
  pending_.emplace_back();
  Pending& pending = pending_.back();
  pending.query = query;
  if (client) pending.client = *client;
  pending.client_len = client_len;
  pending.tcp_serial = tcp_serial;
  for (; pending.server < upstreams_.size(); pending.server++) {
    if (send_upstream(pending)) return;
  }
  reply(pending, error_response(query, kServFail));
  pending_.pop_back();
}

// Sends the question to upstreams_[pending.server] from a fresh socket in our
// own namespace (a random source port per question). A question that came
// over TCP goes over TCP (its answer may be larger than UDP carries): connect,
// then the length and the question as the socket takes them.
bool DnsServer::send_upstream(Pending& pending) {
  if (pending.upstream >= 0) close(pending.upstream);
  const sockaddr_storage& server = upstreams_[pending.server];
  const bool tcp = pending.tcp_serial != 0;
  pending.upstream = socket(server.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  pending.deadline_ms = now_ms() + kForwardTimeoutMs;
  pending.upstream_in.clear();
  pending.upstream_out.clear();
  if (tcp) put16(pending.upstream_out, static_cast<unsigned>(pending.query.size()));
  if (tcp) pending.upstream_out += pending.query;
  const bool connected = pending.upstream >= 0 &&
                         (connect(pending.upstream, reinterpret_cast<const sockaddr*>(&server), address_length(server)) == 0 ||
                          (tcp && errno == EINPROGRESS));
  if (connected && (tcp || send(pending.upstream, pending.query.data(), pending.query.size(), MSG_NOSIGNAL) >= 0))
    return true;
  if (pending.upstream >= 0) close(pending.upstream);
  pending.upstream = -1;
  return false;
}

// What a server sent back: over UDP one datagram, over TCP a length and the
// answer, read as it comes. A refusal, a reset, a cut or an answer to another
// question moves on to the next server (deadline 0).
void DnsServer::on_upstream(Pending& pending, short revents) {
  static char buffer[65536];
  if (pending.tcp_serial != 0 && (revents & POLLOUT) && !pending.upstream_out.empty()) {
    ssize_t n = send(pending.upstream, pending.upstream_out.data(), pending.upstream_out.size(), MSG_NOSIGNAL);
    if (n > 0) pending.upstream_out.erase(0, static_cast<size_t>(n));
    else if (n < 0 && errno != EAGAIN && errno != EINTR) pending.deadline_ms = 0;
    return;
  }
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return;
  ssize_t n = recv(pending.upstream, buffer, sizeof buffer, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  std::string response;
  if (pending.tcp_serial == 0) {
    if (n > 0) response.assign(buffer, static_cast<size_t>(n));
  } else if (n > 0) {
    pending.upstream_in.append(buffer, static_cast<size_t>(n));
    const std::string& in = pending.upstream_in;
    if (in.size() < 2 || in.size() < 2 + get16(in, 0)) return;  // more to come
    response = in.substr(2, get16(in, 0));
  }
  if (response.size() < 12 || memcmp(response.data(), pending.query.data(), 2) != 0) {
    pending.deadline_ms = 0;
    return;
  }
  reply(pending, response);
  close(pending.upstream);
  pending.upstream = -1;
}

void DnsServer::reply(const Pending& pending, const std::string& response) {
  if (response.empty()) return;
  if (pending.tcp_serial == 0) {
    if (udp_ >= 0)
      sendto(udp_, response.data(), response.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&pending.client),
             pending.client_len);
    return;
  }
  for (auto& client : tcp_clients_) {
    if (client.serial != pending.tcp_serial || client.fd < 0 || client.out.size() > kTcpOutLimit) continue;
    put16(client.out, static_cast<unsigned>(response.size()));
    client.out += response;
  }
}

void DnsServer::on_udp_query() {
  char datagram[4096];
  sockaddr_storage from = {};
  socklen_t from_len = sizeof from;
  ssize_t n = recvfrom(udp_, datagram, sizeof datagram, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_len);
  if (n < 0 || static_cast<size_t>(n) > sizeof datagram) return;
  const std::string query(datagram, static_cast<size_t>(n));
  bool upstream = false;
  const std::string response = answer(query, kUdpLimit, upstream);
  if (upstream) {
    forward(query, &from, from_len, 0);
    return;
  }
  if (!response.empty())
    sendto(udp_, response.data(), response.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&from), from_len);
}

// DNS over TCP: each message after its two-byte length.
void DnsServer::on_tcp_data(TcpClient& client) {
  char chunk[4096];
  ssize_t n = read(client.fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0 || client.in.size() > 2 + 65535) {
    close(client.fd);
    client.fd = -1;
    return;
  }
  client.idle_since_ms = now_ms();
  client.in.append(chunk, static_cast<size_t>(n));
  answer_tcp(client);
}

// Answers the complete messages a TCP client sent, while it reads the answers.
void DnsServer::answer_tcp(TcpClient& client) {
  while (client.in.size() >= 2 && client.in.size() >= 2 + get16(client.in, 0) && client.out.size() < kTcpOutLimit) {
    const std::string query = client.in.substr(2, get16(client.in, 0));
    client.in.erase(0, 2 + query.size());
    bool upstream = false;
    const std::string response = answer(query, 65535, upstream);
    if (upstream) {
      forward(query, nullptr, 0, client.serial);
    } else if (!response.empty()) {
      put16(client.out, static_cast<unsigned>(response.size()));
      client.out += response;
    }
  }
}

void DnsServer::add_pollfds(std::vector<pollfd>& fds) {
  slots_.clear();
  if (udp_ < 0) return;
  auto add = [&](int fd, short events, Slot::Kind kind, void* owner) {
    fds.push_back({fd, events, 0});
    slots_.push_back({kind, owner});
  };
  add(udp_, POLLIN, Slot::kUdp, nullptr);
  add(tcp_, POLLIN, Slot::kTcpListener, nullptr);
  const long long now = now_ms();
  for (auto it = pending_.begin(); it != pending_.end();) {
    // a server that did not answer in time (or refused): the next one, then
    // SERVFAIL (before the TCP clients below: one may have it to send now)
    if (it->upstream >= 0 && it->deadline_ms <= now) {
      bool sent = false;
      while (!sent && ++it->server < upstreams_.size()) sent = send_upstream(*it);
      if (!sent) {
        if (it->upstream >= 0) close(it->upstream);
        it->upstream = -1;
        reply(*it, error_response(it->query, kServFail));
      }
    }
    if (it->upstream < 0) {
      it = pending_.erase(it);
      continue;
    }
    add(it->upstream, static_cast<short>(POLLIN | (it->upstream_out.empty() ? 0 : POLLOUT)), Slot::kUpstream, &*it);
    ++it;
  }
  for (auto it = tcp_clients_.begin(); it != tcp_clients_.end();) {
    if (it->fd >= 0 && now - it->idle_since_ms > kTcpIdleMs) {
      close(it->fd);
      it->fd = -1;
    }
    if (it->fd < 0) {
      it = tcp_clients_.erase(it);
      continue;
    }
    // a client that does not read its answers is not read from either: the
    // monitor's memory, outside the container's cgroup, stays bounded
    const short events = static_cast<short>((it->out.size() < kTcpOutLimit ? POLLIN : 0) | (it->out.empty() ? 0 : POLLOUT));
    add(it->fd, events, Slot::kTcpClient, &*it);
    ++it;
  }
}

int DnsServer::next_timeout_ms() const {
  long long next = -1;
  const long long now = now_ms();
  auto consider = [&](long long at) {
    long long wait = at > now ? at - now : 0;
    if (next < 0 || wait < next) next = wait;
  };
  for (const auto& pending : pending_) consider(pending.deadline_ms);
  for (const auto& client : tcp_clients_) consider(client.idle_since_ms + kTcpIdleMs + 1);
  return static_cast<int>(next);
}

void DnsServer::handle(const pollfd* fds, size_t count) {
  for (size_t i = 0; i < count && i < slots_.size(); i++) {
    const short revents = fds[i].revents;
    if (!revents) continue;
    Slot& slot = slots_[i];
    switch (slot.kind) {
      case Slot::kUdp:
        on_udp_query();
        break;
      case Slot::kTcpListener: {
        int fd = accept4(tcp_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (tcp_clients_.size() >= kMaxTcpClients) {
          close(fd);
          break;
        }
        tcp_clients_.push_back({});
        tcp_clients_.back().serial = next_serial_++;
        tcp_clients_.back().fd = fd;
        tcp_clients_.back().idle_since_ms = now_ms();
        break;
      }
      case Slot::kTcpClient: {
        auto& client = *static_cast<TcpClient*>(slot.owner);
        if (client.fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR))) on_tcp_data(client);
        if (client.fd >= 0 && (revents & POLLOUT)) {
          ssize_t n = send(client.fd, client.out.data(), client.out.size(), MSG_NOSIGNAL);
          if (n > 0) {
            client.out.erase(0, static_cast<size_t>(n));
            answer_tcp(client);
          } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            close(client.fd);
            client.fd = -1;
          }
        }
        break;
      }
      case Slot::kUpstream: {
        auto& pending = *static_cast<Pending*>(slot.owner);
        if (pending.upstream >= 0) on_upstream(pending, revents);
        break;
      }
    }
  }
}
