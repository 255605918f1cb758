#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "olla/config/config.hpp"
#include "olla/pool/circuit_breaker.hpp"

namespace olla::pool {

enum class EndpointStatus : std::uint8_t {
  unknown,
  healthy,
  unhealthy,
  offline,
  rate_limited,
  config_error
};

std::string_view to_string(EndpointStatus s);

// One configured LiteLLM backend and its live figures, shared by every thread.
struct Endpoint {
  explicit Endpoint(config::EndpointConfig c) : cfg(std::move(c)) {}

  config::EndpointConfig cfg;
  std::atomic<EndpointStatus> status{EndpointStatus::unknown};
  std::atomic<int> in_flight{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> failures{0};
  CircuitBreaker breaker;
  // Health probes, as unix epoch milliseconds (0 = never / not scheduled), for the status page.
  std::atomic<std::int64_t> last_check_ms{0};
  std::atomic<std::int64_t> next_check_ms{0};
  // Removed from the config by a reload: takes no new requests, its streams finish.
  std::atomic<bool> retired{false};

  // Healthy by its probes, not cut off by its breaker, still configured.
  bool routable() const {
    return status.load(std::memory_order_relaxed) == EndpointStatus::healthy &&
           !retired.load(std::memory_order_relaxed) && breaker.available();
  }
};

}  // namespace olla::pool
