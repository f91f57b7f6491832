#include "resource_limits.h"

#include <cstdlib>

namespace {

// Decimal digits only (at most 19: no overflow), or "-1" when `infinity` may be.
bool limit_number(const std::string& text, bool minus_one, unsigned long long& out) {
  if (minus_one && text == "-1") {
    out = RLIM_INFINITY;
    return true;
  }
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  out = strtoull(text.c_str(), nullptr, 10);
  return true;
}

}  // namespace

bool rlimit_parse(const std::string& text, Rlimit& limit) {
  size_t a = text.find(':'), b = text.rfind(':');
  if (a == std::string::npos || a == b) return false;
  unsigned long long resource, soft, hard;
  if (!limit_number(text.substr(0, a), false, resource) || resource >= RLIM_NLIMITS) return false;
  if (!limit_number(text.substr(a + 1, b - a - 1), true, soft) || !limit_number(text.substr(b + 1), true, hard)) return false;
  limit.resource = static_cast<int>(resource);
  limit.soft = soft;
  limit.hard = hard;
  return true;
}

int rlimits_apply(const std::vector<Rlimit>& limits) {
  for (const auto& r : limits) {
    rlimit value = {r.soft, r.hard};
    if (setrlimit(r.resource, &value) < 0) return -1;
  }
  return 0;
}
