// A sealed, read-only copy of an executable, as a memfd (CLOEXEC). The
// helpers that enter a container run from such a copy through
// /proc/self/fd/<n> (CVE-2019-5736): a process in the container that gets
// hold of /proc/<helper>/exe reaches only this copy, and the seals make it
// unwritable for good: write, truncate and growth fail with EPERM, and
// F_SEAL_SEAL keeps anyone from lifting the seals. The file on disk is never
// executed, so nothing inside a container can ever hold it. Used by the N-API
// module (sealExecutable, for berth-monitor and berth-exec) and by the
// monitor (its healthchecks' berth-exec).
#pragma once
#include <string>

// The copy's descriptor, the memfd named `name`; -1 with errno set and
// *failed naming the call that failed.
int sealed_executable_copy(const std::string& path, const std::string& name, const char** failed);
