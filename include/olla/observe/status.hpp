#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace olla::pool {
class EndpointPool;
}

namespace olla::observe {

class Metrics;

// The JSON bodies of /internal/status, /internal/status/endpoints and /internal/status/models,
// built from the pool's live figures and the metrics' histograms. Beast-free; the session dumps
// them (with error_handler_t::replace: model ids may hold any bytes).

// {"name","version","status":"healthy"|"degraded"|"unhealthy","uptime_s",
//  "endpoints":{"healthy","routable","total"},"models","in_flight","requests","failures"}.
// `status` follows /health: by routable endpoints. `in_flight` is the gateway's own count of
// requests under way (the caller keeps it).
nlohmann::ordered_json status_summary(const pool::EndpointPool& pool, const Metrics& metrics,
                                      std::chrono::seconds uptime, std::int64_t in_flight);

// {"endpoints":[{"name","url","type","status","routable","priority","in_flight","requests",
//  "failures","circuit_breaker":{"state","opens"},"latency_ms":{"p50","p95","p99","count"},
//  "ttfb_ms":{...},"models":{"count","ids"},"last_check","next_check"}]}, in config order.
// Percentiles are histogram estimates, null before the first sample; check times are ISO-8601
// UTC or null.
nlohmann::ordered_json status_endpoints(const pool::EndpointPool& pool, const Metrics& metrics);

// {"models":[{"id","provider","endpoints":[{"name","status","routable"}]}]}, in discovery order.
nlohmann::ordered_json status_models(const pool::EndpointPool& pool);

// The URL without user:password@, query or fragment (status pages are read by people who must
// not see secrets).
std::string public_url(std::string_view url);

// "2024-05-01T12:00:00.123Z" for unix epoch milliseconds.
std::string iso8601_utc(std::int64_t epoch_ms);

}  // namespace olla::observe
