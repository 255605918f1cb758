#pragma once

#include <chrono>
#include <string_view>

#include "olla/config/duration.hpp"
#include "olla/pool/endpoint.hpp"

namespace olla::pool {

// Status from one probe: http_status 0 means the connection failed or timed out.
EndpointStatus classify_probe(int http_status);

// The wait before the next probe: check_interval while healthy, doubling per consecutive failure up
// to 60 s; a rate-limited endpoint waits at least its Retry-After.
config::Duration next_probe_delay(config::Duration interval, int consecutive_failures,
                                  config::Duration retry_after = config::Duration(0));

// Retry-After in seconds (delta form only); 0 when absent or unparsable.
config::Duration parse_retry_after(std::string_view value);

}  // namespace olla::pool
