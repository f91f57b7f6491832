// A user namespace of berth-exec's own, mapped by Node with the rootless maps
// (lib/userns/userns-file-ops.ts, mapOwnNamespace): unshare(CLONE_NEWUSER),
// the event {"event":"map","pid":N} on the control socket, then the record
// `mapped` from Node once newuidmap/newgidmap have run; then uid and gid 0
// inside. berth-exec userns-files and a rootless `mount` use it.
#pragma once
#include "key_value_file.h"

// 0, or -1 with errno set and `failed_call` naming the call (EPROTO: Node
// sent something else; ECONNRESET: Node went away).
int userns_unshare_mapped(KeyValueBuffer& control, const char** failed_call);
