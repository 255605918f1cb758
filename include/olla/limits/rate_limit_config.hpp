#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace olla::limits {

// server.rate_limits: token buckets in front of every route, off unless a rate is set.
struct RateLimitConfig {
  std::uint32_t global_per_minute = 0;  // one bucket shared by every client; 0 = off
  std::uint32_t per_ip_per_minute = 0;  // one bucket per client address; 0 = off
  std::uint32_t health_per_minute = 0;  // per client address, health routes only; 0 = off
  // Capacity of every bucket. 0 = each bucket's own per-minute rate / 6, at least 1.
  std::uint32_t burst = 0;
  // Per-client buckets unused for this long are dropped (they would be full again anyway).
  std::chrono::milliseconds cleanup_interval{300'000};
  // The per-client table never holds more buckets than this; the least recently seen goes first.
  std::size_t max_tracked_ips = 100'000;
  // Peers whose X-Forwarded-For is believed. Empty = nobody's.
  std::vector<std::string> trusted_proxy_cidrs;

  bool enabled() const {
    return global_per_minute > 0 || per_ip_per_minute > 0 || health_per_minute > 0;
  }
  // The capacity of a bucket refilled at `per_minute`.
  std::uint32_t burst_for(std::uint32_t per_minute) const {
    if (burst > 0) return burst;
    return per_minute / 6 > 0 ? per_minute / 6 : 1;
  }

  bool operator==(const RateLimitConfig&) const = default;
};

}  // namespace olla::limits
