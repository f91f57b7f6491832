#include "listen_query.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace {

constexpr int kTcpListen = 10;  // TCP_LISTEN
constexpr int kTcpClose = 7;    // TCP_CLOSE: an unconnected (bound) UDP socket

// A netlink socket that belongs to the namespace at `netns_path`: made on a
// short-lived thread of its own that setns()es there, so no thread of Node
// ever changes namespace. A socket keeps the namespace it was made in.
int diag_socket_in(const std::string& netns_path, const char*& syscall_name) {
  int result = -1, saved_errno = 0;
  std::thread([&] {
    int ns = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) { saved_errno = errno; syscall_name = "open"; return; }
    if (setns(ns, CLONE_NEWNET) < 0) { saved_errno = errno; syscall_name = "setns"; close(ns); return; }
    close(ns);
    result = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (result < 0) { saved_errno = errno; syscall_name = "socket"; }
  }).join();
  errno = saved_errno;
  return result;
}

// One dump request for a family and protocol; appends the local ports.
bool dump(int fd, int family, int protocol, uint32_t states, std::vector<uint16_t>& ports, const char*& syscall_name) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message = {};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = static_cast<uint8_t>(family);
  message.request.sdiag_protocol = static_cast<uint8_t>(protocol);
  message.request.idiag_states = states;
  if (send(fd, &message, sizeof message, 0) < 0) { syscall_name = "send"; return false; }
  alignas(nlmsghdr) char buffer[16384];
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { syscall_name = "recv"; return false; }
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* error = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        errno = -error->error;
        syscall_name = "sock_diag";
        return false;
      }
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      auto* socket_info = static_cast<inet_diag_msg*>(NLMSG_DATA(h));
      ports.push_back(ntohs(socket_info->id.idiag_sport));
    }
  }
}

}  // namespace

bool listen_query(const std::string& netns_path, bool udp, std::vector<uint16_t>& ports, const char*& syscall_name) {
  int fd = diag_socket_in(netns_path, syscall_name);
  if (fd < 0) return false;
  const int protocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
  const uint32_t states = 1u << (udp ? kTcpClose : kTcpListen);
  bool ok = dump(fd, AF_INET, protocol, states, ports, syscall_name);
  // a kernel without IPv6 answers ENOENT for AF_INET6: no IPv6 sockets
  if (ok && !dump(fd, AF_INET6, protocol, states, ports, syscall_name) && errno != ENOENT) ok = false;
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}
