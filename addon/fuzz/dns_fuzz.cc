// Fuzzes the embedded DNS server (dns_server.cc) where a container and a
// hostile upstream reach it: a question as a UDP datagram (answer()), a TCP
// stream of length-prefixed questions (on_tcp_data over a socketpair), and an
// upstream server's answer over UDP or TCP (on_upstream over a socketpair).
// Every response must be a well-formed DNS message within the size limit, and
// every TCP frame whole.
//
// The first input byte picks the path; the rest is what the peer sends.
// Run it without network (unshare -rn): forwarded questions then fail at
// once and come back as SERVFAIL (README.md).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <string>
#include <vector>

#define private public  // the parsers are private members: the driver calls them as the poll loop does
#include "../dns_server.h"
#undef private

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "dns_fuzz: %s\n", what);
  abort();
}

unsigned get16(const std::string& s, size_t at) {
  return (static_cast<unsigned char>(s[at]) << 8) | static_cast<unsigned char>(s[at + 1]);
}

// A name in `m` at `at` as a strict reader takes it: labels of 1-63 bytes,
// pointers only backwards, at most 255 bytes; the offset after it.
bool skip_name(const std::string& m, size_t& at) {
  size_t length = 0, hops = 0, after = 0;
  size_t here = at;
  for (;;) {
    if (here >= m.size()) return false;
    const unsigned byte = static_cast<unsigned char>(m[here]);
    if (byte == 0) {
      at = after ? after : here + 1;
      return length + 1 <= 255;
    }
    if ((byte & 0xc0) == 0xc0) {
      if (here + 1 >= m.size() || ++hops > 64) return false;
      const size_t target = get16(m, here) & 0x3fff;
      if (target >= here) return false;
      if (!after) after = here + 2;
      here = target;
      continue;
    }
    if (byte > 63 || here + 1 + byte > m.size()) return false;
    length += 1 + byte;
    here += 1 + byte;
  }
}

// A response as a resolver reads it: header, questions, answer records, and nothing after.
void check_response(const std::string& r, size_t limit) {
  if (r.empty()) return;
  require(r.size() >= 12, "a response shorter than a header");
  require(r.size() <= limit, "a response over the limit");
  require(get16(r, 2) & 0x8000, "a response without QR");
  require(get16(r, 8) == 0 && get16(r, 10) == 0, "authority or additional records");
  size_t at = 12;
  for (unsigned i = 0; i < get16(r, 4); i++) {
    require(skip_name(r, at), "a malformed question name");
    require(at + 4 <= r.size(), "a question cut short");
    at += 4;
  }
  for (unsigned i = 0; i < get16(r, 6); i++) {
    require(skip_name(r, at), "a malformed owner name");
    require(at + 10 <= r.size(), "a record cut short");
    const unsigned type = get16(r, at), length = get16(r, at + 8);
    at += 10;
    require(at + length <= r.size(), "record data past the end");
    if (type == 12) {
      size_t name_at = at;
      require(skip_name(r, name_at) && name_at == at + length, "a malformed PTR name");
    } else {
      require(length == (type == 1 ? 4u : 16u), "an address of the wrong size");
    }
    at += length;
  }
  require(at == r.size(), "bytes after the last record");
}

// TCP frames: each a two-byte length and that many bytes, the last one whole.
void check_frames(const std::string& out, bool answers_only) {
  size_t at = 0;
  while (at < out.size()) {
    require(at + 2 <= out.size(), "a TCP frame without its length");
    const size_t length = get16(out, at);
    require(at + 2 + length <= out.size(), "a TCP frame cut short");
    if (answers_only) check_response(out.substr(at + 2, length), 65535);
    at += 2 + length;
  }
}

std::string names_file() {
  char path[] = "/tmp/berth-dns-fuzz-XXXXXX";
  int fd = mkstemp(path);
  require(fd >= 0, "mkstemp");
  std::string text = "probe 10.0.0.2\nprobe 10.0.0.3\nProbe fd00::2\nsix fd00::3\n";
  text += std::string(100, 'l') + " 10.0.0.9\n";         // a label longer than DNS allows
  text += std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
          std::string(61, 'd') + " 10.0.0.8\n";           // the longest name
  for (int i = 0; i < 300; i++) text += "many 10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "\n";
  text += "bad line\n no-name 10.0.0.1\nx 999.1.1.1\n";
  require(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()), "write");
  close(fd);
  static char made[sizeof path];
  memcpy(made, path, sizeof path);
  atexit([] { unlink(made); });
  return path;
}

DnsServer& server(bool with_upstream) {
  static const std::string path = names_file();
  static DnsServer local, forwarding;
  static bool configured = false;
  if (!configured) {
    local.configure(path, {});
    forwarding.configure(path, {"127.0.0.1", "::1", "not an address"});
    configured = true;
  }
  return with_upstream ? forwarding : local;
}

// Sends `input` from the peer end, as much as the socket takes, then half-closes it.
void feed(int peer, const std::string& input) {
  size_t at = 0;
  while (at < input.size()) {
    ssize_t n = send(peer, input.data() + at, input.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    at += static_cast<size_t>(n);
  }
  shutdown(peer, SHUT_WR);
}

void question(const std::string& input) {
  for (bool with_upstream : {false, true}) {
    DnsServer& dns = server(with_upstream);
    for (size_t limit : {static_cast<size_t>(512), static_cast<size_t>(65535)}) {
      bool forward = false;
      const std::string r = dns.answer(input, limit, forward);
      check_response(r, limit);
      require(!forward || r.empty(), "an answer and a forward");
      if (forward) {
        sockaddr_storage from = {};
        dns.forward(input, &from, sizeof(sockaddr_in), 0);
        dns.end_run();
      }
    }
  }
}

void tcp_stream(const std::string& input) {
  DnsServer& dns = server(false);
  int pair[2];
  require(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0, "socketpair");
  dns.tcp_clients_.push_back({});
  DnsServer::TcpClient& client = dns.tcp_clients_.back();
  client.serial = 1;
  client.fd = pair[0];
  feed(pair[1], input);
  for (int round = 0; round < 1000 && client.fd >= 0; round++) {
    dns.on_tcp_data(client);
    require(client.in.size() <= 2 + 65535 + 4096, "an unbounded TCP input buffer");
    check_frames(client.out, true);
    client.out.clear();  // as the client reads them
    dns.answer_tcp(client);
  }
  close(pair[1]);
  dns.end_run();
}

void upstream_answer(const std::string& input) {
  if (input.size() < 3) return;
  const bool tcp = input[0] & 1;
  DnsServer& dns = server(false);
  int client_pair[2], upstream_pair[2];
  require(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, client_pair) == 0, "socketpair");
  require(socketpair(AF_UNIX, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, upstream_pair) == 0,
          "socketpair");
  dns.tcp_clients_.push_back({});
  dns.tcp_clients_.back().serial = 7;
  dns.tcp_clients_.back().fd = client_pair[0];
  DnsServer::Pending pending;
  pending.query = input.substr(1, 2) + std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01x\x00\x00\x01\x00\x01", 17);
  pending.tcp_serial = tcp ? 7 : 0;
  pending.upstream = upstream_pair[0];
  pending.deadline_ms = 1;
  const std::string answer = input.substr(1);
  if (tcp) {
    feed(upstream_pair[1], answer);
  } else {  // one datagram, or a few when the input says so
    for (size_t at = 0; at < answer.size(); at += 512)
      send(upstream_pair[1], answer.data() + at, std::min<size_t>(512, answer.size() - at), MSG_DONTWAIT);
  }
  for (int round = 0; round < 1000 && pending.upstream >= 0 && pending.deadline_ms != 0; round++)
    dns.on_upstream(pending, POLLIN);
  if (pending.upstream >= 0) close(pending.upstream);
  check_frames(dns.tcp_clients_.back().out, false);
  close(upstream_pair[1]);
  close(client_pair[1]);
  dns.end_run();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: question(input); break;
    case 1: tcp_stream(input); break;
    case 2: upstream_answer(input); break;
  }
  return 0;
}
