#include "olla/observe/status.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <unordered_set>
#include <vector>

#include "olla/observe/metrics.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::observe {
namespace {

using json = nlohmann::ordered_json;

// Milliseconds to the microsecond, or null when there is no sample.
json ms(double seconds) {
  if (std::isnan(seconds)) return nullptr;
  return std::round(seconds * 1e6) / 1e3;
}

json percentiles(const Histogram::Snapshot& h) {
  return {{"p50", ms(h.quantile(0.50))},
          {"p95", ms(h.quantile(0.95))},
          {"p99", ms(h.quantile(0.99))},
          {"count", h.count}};
}

json time_or_null(std::int64_t epoch_ms) {
  if (epoch_ms <= 0) return nullptr;
  return iso8601_utc(epoch_ms);
}

}  // namespace

std::string public_url(std::string_view url) {
  const auto scheme = url.find("://");
  const std::size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  auto end = url.find_first_of("/?#", authority);
  if (end == std::string_view::npos) end = url.size();
  std::string out(url.substr(0, authority));
  const auto host = url.substr(authority, end - authority);
  const auto at = host.rfind('@');
  out += at == std::string_view::npos ? host : host.substr(at + 1);
  auto rest = url.substr(end);
  rest = rest.substr(0, rest.find_first_of("?#"));
  out += rest;
  return out;
}

std::string iso8601_utc(std::int64_t epoch_ms) {
  const auto secs = static_cast<std::time_t>(epoch_ms / 1000);
  const auto millis = static_cast<int>(epoch_ms % 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

json status_summary(const pool::EndpointPool& pool, const Metrics& metrics,
                    std::chrono::seconds uptime, std::int64_t in_flight) {
  std::size_t healthy = 0;
  std::uint64_t failures = 0;
  std::size_t total = 0;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const auto& ep = pool.at(i);
    if (ep.retired.load(std::memory_order_relaxed)) continue;  // removed by a reload
    ++total;
    if (ep.status.load(std::memory_order_relaxed) == pool::EndpointStatus::healthy) ++healthy;
    failures += ep.failures.load(std::memory_order_relaxed);
  }
  const auto routable = pool.routable_count();
  const char* status = routable == 0 ? "unhealthy" : routable < total ? "degraded" : "healthy";
  const auto models = pool.models().union_models(std::vector<bool>(pool.size(), true));
  return {{"name", "olla"},
          {"version", OLLA_VERSION},
          {"status", status},
          {"uptime_s", uptime.count()},
          {"endpoints", {{"healthy", healthy}, {"routable", routable}, {"total", total}}},
          {"models", models.size()},
          {"in_flight", in_flight},
          {"requests", metrics.requests_total()},
          {"failures", failures}};
}

json status_endpoints(const pool::EndpointPool& pool, const Metrics& metrics) {
  const auto snap = pool.models().snapshot();
  const auto now = pool::CircuitBreaker::Clock::now();
  json list = json::array();
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const auto& ep = pool.at(i);
    if (ep.retired.load(std::memory_order_relaxed)) continue;  // removed by a reload
    json ids = json::array();
    if (i < snap->per_endpoint.size()) {
      for (const auto& m : snap->per_endpoint[i]) ids.push_back(m.id);
    }
    const auto count = ids.size();
    list.push_back(
        {{"name", ep.cfg.name},
         {"url", public_url(ep.cfg.url)},
         {"type", ep.cfg.type},
         {"status", pool::to_string(ep.status.load(std::memory_order_relaxed))},
         {"routable", ep.routable()},
         {"priority", ep.cfg.priority},
         {"in_flight", ep.in_flight.load(std::memory_order_relaxed)},
         {"requests", ep.requests.load(std::memory_order_relaxed)},
         {"failures", ep.failures.load(std::memory_order_relaxed)},
         {"circuit_breaker",
          {{"state", pool::to_string(ep.breaker.state(now))},
           {"opens", ep.breaker.times_opened()}}},
         {"latency_ms", percentiles(metrics.latency(ep.cfg.name))},
         {"ttfb_ms", percentiles(metrics.ttfb(ep.cfg.name))},
         {"models", {{"count", count}, {"ids", std::move(ids)}}},
         {"last_check", time_or_null(ep.last_check_ms.load(std::memory_order_relaxed))},
         {"next_check", time_or_null(ep.next_check_ms.load(std::memory_order_relaxed))}});
  }
  return {{"endpoints", std::move(list)}};
}

json status_models(const pool::EndpointPool& pool) {
  // One snapshot for the ids and their endpoints, so they agree.
  const auto snap = pool.models().snapshot();
  std::vector<const pool::ModelInfo*> models;
  std::unordered_set<std::string_view> seen;
  for (const auto& list : snap->per_endpoint) {
    for (const auto& m : list) {
      if (seen.insert(m.id).second) models.push_back(&m);
    }
  }
  json list = json::array();
  for (const auto* mp : models) {
    const auto& m = *mp;
    json eps = json::array();
    if (auto it = snap->endpoints_by_model.find(m.id); it != snap->endpoints_by_model.end()) {
      for (const auto i : it->second) {
        if (i >= pool.size()) continue;
        const auto& ep = pool.at(i);
        eps.push_back({{"name", ep.cfg.name},
                       {"status", pool::to_string(ep.status.load(std::memory_order_relaxed))},
                       {"routable", ep.routable()}});
      }
    }
    list.push_back({{"id", m.id}, {"provider", m.provider}, {"endpoints", std::move(eps)}});
  }
  return {{"models", std::move(list)}};
}

}  // namespace olla::observe
