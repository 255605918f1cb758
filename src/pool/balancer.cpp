#include "olla/pool/balancer.hpp"

#include <climits>

namespace olla::pool {
namespace {

// Candidates in the highest priority tier, in their original order.
Indexes top_tier(std::span<const std::size_t> candidates,
                 std::span<const std::unique_ptr<Endpoint>> endpoints) {
  int best = INT_MIN;
  for (auto c : candidates) best = std::max(best, endpoints[c]->cfg.priority);
  Indexes tier;
  for (auto c : candidates) {
    if (endpoints[c]->cfg.priority == best) tier.push_back(c);
  }
  return tier;
}

}  // namespace

std::string_view to_string(EndpointStatus s) {
  switch (s) {
    case EndpointStatus::unknown:
      return "unknown";
    case EndpointStatus::healthy:
      return "healthy";
    case EndpointStatus::unhealthy:
      return "unhealthy";
    case EndpointStatus::offline:
      return "offline";
    case EndpointStatus::rate_limited:
      return "rate_limited";
    case EndpointStatus::config_error:
      return "config_error";
  }
  return "unknown";
}

std::size_t RoundRobinBalancer::choose(std::span<const std::size_t> candidates,
                                       std::span<const std::unique_ptr<Endpoint>>) {
  return candidates[next_.fetch_add(1, std::memory_order_relaxed) % candidates.size()];
}

std::size_t PriorityBalancer::choose(std::span<const std::size_t> candidates,
                                     std::span<const std::unique_ptr<Endpoint>> endpoints) {
  const auto tier = top_tier(candidates, endpoints);
  return tier[next_.fetch_add(1, std::memory_order_relaxed) % tier.size()];
}

std::size_t LeastConnectionsBalancer::choose(std::span<const std::size_t> candidates,
                                             std::span<const std::unique_ptr<Endpoint>> endpoints) {
  // Each counter is read once: other threads change them while we look, and a second read could
  // leave no endpoint at the minimum.
  const auto tier = top_tier(candidates, endpoints);
  Indexes idle;
  int least = INT_MAX;
  for (auto c : tier) {
    const int n = endpoints[c]->in_flight.load(std::memory_order_relaxed);
    if (n < least) {
      least = n;
      idle.clear();
    }
    if (n == least) idle.push_back(c);
  }
  return idle[next_.fetch_add(1, std::memory_order_relaxed) % idle.size()];
}

std::unique_ptr<Balancer> make_balancer(std::string_view name) {
  if (name == "round-robin") return std::make_unique<RoundRobinBalancer>();
  if (name == "priority") return std::make_unique<PriorityBalancer>();
  return std::make_unique<LeastConnectionsBalancer>();
}

}  // namespace olla::pool
