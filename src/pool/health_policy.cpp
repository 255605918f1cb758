#include "olla/pool/health_policy.hpp"

#include <algorithm>
#include <cctype>

namespace olla::pool {

EndpointStatus classify_probe(int http_status) {
  if (http_status == 0) return EndpointStatus::offline;
  if (http_status >= 200 && http_status < 300) return EndpointStatus::healthy;
  if (http_status == 429) return EndpointStatus::rate_limited;
  if (http_status == 401 || http_status == 403) return EndpointStatus::config_error;
  return EndpointStatus::unhealthy;
}

config::Duration next_probe_delay(config::Duration interval, int consecutive_failures,
                                  config::Duration retry_after) {
  constexpr config::Duration kMax{60'000};
  config::Duration d = interval;
  for (int i = 0; i < consecutive_failures && d < kMax; ++i) d *= 2;
  d = std::min(d, std::max(kMax, interval));
  return std::max(d, retry_after);
}

config::Duration parse_retry_after(std::string_view value) {
  long long secs = 0;
  if (value.empty() || value.size() > 9) return config::Duration(0);
  for (char c : value) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return config::Duration(0);
    secs = secs * 10 + (c - '0');
  }
  return config::Duration(secs * 1000);
}

}  // namespace olla::pool
