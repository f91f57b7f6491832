// berth-exec userns-files: changes to files owned by a rootless user's
// subordinate ids, made from inside a user namespace with the rootless maps
// (lib/userns/userns-file-ops.ts). Node cannot chown to those ids, nor enter
// or remove directories they own; root in such a namespace can, for exactly
// the ids the maps hold.
#pragma once
#include "exec_spec.h"
#include "key_value_file.h"

[[noreturn]] void userns_files_main(const ExecSpec& spec, KeyValueBuffer& control);
