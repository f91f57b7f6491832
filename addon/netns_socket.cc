#include "netns_socket.h"

#include "netns_agent.h"

#include <cerrno>
#include <sched.h>
#include <sys/socket.h>

int netns_socket(int target_netns, int own_netns, int domain, int type) {
  // a container with its own user namespace: the run's agent makes it (netns_agent.h)
  if (NetnsAgent* agent = NetnsAgent::current()) return agent->make_socket(domain, type);
  if (target_netns < 0 || own_netns < 0) {
    errno = ENETUNREACH;
    return -1;
  }
  if (setns(target_netns, CLONE_NEWNET) < 0) return -1;
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int saved = errno;
  setns(own_netns, CLONE_NEWNET);
  errno = saved;
  return fd;
}
