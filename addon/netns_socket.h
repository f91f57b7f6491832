// Sockets inside a container's network namespace, made from the monitor: a
// socket stays in the namespace it was created in, so setns() there,
// socket(), setns() back. Used by the port proxy (upstream connections) and
// the embedded DNS server (its listeners at 127.0.0.11:53). While a run has a
// netns agent (a container with its own user namespace, netns_agent.h), the
// agent makes the socket instead and the namespace arguments are not used.
#pragma once

// A non-blocking, close-on-exec socket in `target_netns`; `own_netns` is the
// caller's namespace to return to. -1 with errno set on failure.
int netns_socket(int target_netns, int own_netns, int domain, int type);
