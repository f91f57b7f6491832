// Fuzzes descriptor passing (fd_passing.cc) and the monitor's side of the
// netns agent (NetnsAgent::make_socket) with what a peer on the socket could
// send: payloads of any size, no descriptor or up to the kernel's 253 in one
// or several SCM_RIGHTS headers, descriptors of any kind (a pipe, a
// directory, a socket of another domain or type). After each message no
// descriptor may be left open that the caller was not handed, and
// make_socket() may only return a socket of the domain and type it asked for.
//
// Input: byte 0 picks receive_with_fds (even) or make_socket (odd); byte 1
// the receiver's capacity; then per SCM_RIGHTS header a count and a kind,
// and the rest is the payload.
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../fd_passing.h"
#define private public  // the driver plays the agent: it sets the socket the monitor reads
#include "../netns_agent.h"
#undef private

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "fd_fuzz: %s\n", what);
  abort();
}

int open_fds() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count - 1;  // the directory's own
}

// A descriptor of kind `kind` to pass.
int make_fd(uint8_t kind) {
  switch (kind % 5) {
    case 0: return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    case 1: return socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    case 2: return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    case 3: return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    default: return open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
}

// Sends one message built from the input on `sock`; how many descriptors it carried.
size_t send_message(int sock, const uint8_t*& data, size_t& size) {
  std::vector<int> fds;
  std::vector<size_t> groups;
  while (size >= 2 && data[0] != 0xff && groups.size() < 4) {
    const size_t count = data[0] % 130;
    for (size_t i = 0; i < count && fds.size() < 253; i++) fds.push_back(make_fd(static_cast<uint8_t>(data[1] + i)));
    groups.push_back(fds.size());
    data += 2;
    size -= 2;
  }
  if (size > 0) data++, size--;
  const size_t payload = size < 300 ? size : 300;
  iovec iov = {const_cast<uint8_t*>(data), payload};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * 253) * 4, 0);
  msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  size_t used = 0, from = 0;
  for (size_t end : groups) {
    if (end == from) continue;
    cmsghdr* header = reinterpret_cast<cmsghdr*>(control.data() + used);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * (end - from));
    memcpy(CMSG_DATA(header), fds.data() + from, sizeof(int) * (end - from));
    used += CMSG_SPACE(sizeof(int) * (end - from));
    from = end;
  }
  if (used) {
    message.msg_control = control.data();
    message.msg_controllen = used;
  }
  ssize_t sent = sendmsg(sock, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  for (int fd : fds) close(fd);
  data += payload;
  size -= payload;
  return sent < 0 ? 0 : fds.size();
}

void receive(const uint8_t* data, size_t size) {
  const size_t capacity = data[1] % 8;
  data += 2, size -= 2;
  int pair[2];
  require(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0, "socketpair");
  const int before = open_fds();
  const size_t sent = send_message(pair[1], data, size);
  int fds[8];
  char payload[16];
  size_t received = 0;
  ssize_t n = receive_with_fds(pair[0], payload, sizeof payload, fds, capacity, received);
  require(n >= 0, "recvmsg failed");
  require(received == sent || (sent > kMaxFdsPerMessage && received <= kMaxFdsPerMessage), "a miscounted descriptor");
  for (size_t i = 0; i < received && i < capacity; i++) close(fds[i]);
  require(open_fds() == before, "a descriptor left open");
  close(pair[0]);
  close(pair[1]);
}

void agent_reply(const uint8_t* data, size_t size) {
  const int domain = data[1] & 1 ? AF_INET6 : AF_INET;
  const int type = data[1] & 2 ? SOCK_DGRAM : SOCK_STREAM;
  data += 2, size -= 2;
  int pair[2];
  require(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0, "socketpair");
  NetnsAgent agent;
  agent.fd_ = pair[0];
  const int before = open_fds();
  send_message(pair[1], data, size);
  const int fd = agent.make_socket(domain, type);
  if (fd >= 0) {
    int got_domain = 0, got_type = 0;
    socklen_t length = sizeof got_domain;
    require(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &got_domain, &length) == 0 && got_domain == domain,
            "make_socket handed back a descriptor of another domain");
    length = sizeof got_type;
    require(getsockopt(fd, SOL_SOCKET, SO_TYPE, &got_type, &length) == 0 && got_type == type,
            "make_socket handed back a socket of another type");
    close(fd);
  }
  require(open_fds() == before, "a descriptor left open");
  agent.fd_ = -1;
  close(pair[0]);
  close(pair[1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  if (data[0] & 1) agent_reply(data, size);
  else receive(data, size);
  return 0;
}
