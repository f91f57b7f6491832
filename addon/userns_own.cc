#include "userns_own.h"

#include <cerrno>
#include <grp.h>
#include <sched.h>
#include <string>
#include <unistd.h>

#include "control_events.h"

int userns_unshare_mapped(KeyValueBuffer& control, const char** failed_call) {
  // 1. The namespace: every capability in it, no ids mapped yet.
  *failed_call = "unshare";
  if (unshare(CLONE_NEWUSER) < 0) return -1;

  // 2. Node maps it from outside (only a process in the parent namespace can),
  //    then says so.
  control_event_send("{\"event\":\"map\",\"pid\":" + std::to_string(getpid()) + "}");
  std::string key, value, error;
  KeyValueNext next;
  *failed_call = "read";
  while ((next = key_value_next(control, key, value, error)) == KeyValueNext::kIncomplete) {
    if (key_value_fill(kControlFd, control) <= 0) {
      errno = ECONNRESET;
      return -1;
    }
  }
  if (next != KeyValueNext::kRecord || key != "mapped") {
    errno = EPROTO;
    return -1;
  }

  // 3. Root of the namespace: the caller's own files are root's, its
  //    subordinate ids are 1 … n. (setgroups is denied with a single-id map.)
  *failed_call = "setgroups";
  if (setgroups(0, nullptr) < 0 && errno != EPERM) return -1;
  *failed_call = "setresgid";
  if (setresgid(0, 0, 0) < 0) return -1;
  *failed_call = "setresuid";
  if (setresuid(0, 0, 0) < 0) return -1;
  return 0;
}
