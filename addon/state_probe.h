// Reading berth's state directories many entries at a time: what list() and
// recovery ask of every container (its name link, its monitor's lock), in
// one call from Node instead of several per container, by descriptors
// relative to the directory (no path walk from / each time).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// The symbolic links directly in `dir`: (name, target) each; other entries
// are skipped, and so is a link that goes away meanwhile. False with errno
// when `dir` cannot be read.
bool state_read_links(const std::string& dir, std::vector<std::pair<std::string, std::string>>& links);

// What probing the lock file <dir>/<entry>/<file> found, for each entry:
// kProbeAbsent when it cannot be opened, kProbeFree when a shared flock was
// granted (nobody holds it exclusively), else kProbeHeld plus the file's size
// (capped), which the holder may use to say more. False with errno when `dir`
// cannot be opened.
constexpr int32_t kProbeAbsent = -1;
constexpr int32_t kProbeFree = 0;
constexpr int32_t kProbeHeld = 1;
bool state_probe_locks(const std::string& dir, const std::vector<std::string>& entries, const std::string& file,
                       std::vector<int32_t>& states);
