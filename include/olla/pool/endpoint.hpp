#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "olla/config/config.hpp"

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

  bool routable() const {
    const auto s = status.load(std::memory_order_relaxed);
    return s == EndpointStatus::healthy;
  }
};

}  // namespace olla::pool
