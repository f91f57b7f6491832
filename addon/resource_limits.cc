#include "resource_limits.h"

#include <cstdlib>

#include "key_value_file.h"

bool rlimit_parse(const std::string& text, Rlimit& limit) {
  size_t a = text.find(':'), b = text.rfind(':');
  if (a == std::string::npos || a == b) return false;
  limit.resource = atoi(text.substr(0, a).c_str());
  std::string soft = text.substr(a + 1, b - a - 1), hard = text.substr(b + 1);
  limit.soft = soft == "-1" ? RLIM_INFINITY : key_value_number(soft);
  limit.hard = hard == "-1" ? RLIM_INFINITY : key_value_number(hard);
  return true;
}

int rlimits_apply(const std::vector<Rlimit>& limits) {
  for (const auto& r : limits) {
    rlimit value = {r.soft, r.hard};
    if (setrlimit(r.resource, &value) < 0) return -1;
  }
  return 0;
}
