#pragma once

#include <atomic>
#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "olla/pool/endpoint.hpp"

namespace olla::pool {

// Endpoint indexes picked for one request: up to 16 without an allocation.
using Indexes = boost::container::small_vector<std::size_t, 16>;

// Picks one of the candidates (indexes into the endpoint list, never empty). The seam where
// balancing strategies plug in, like Envoy's LoadBalancer::chooseHost.
class Balancer {
 public:
  virtual ~Balancer() = default;
  virtual std::size_t choose(std::span<const std::size_t> candidates,
                             std::span<const std::unique_ptr<Endpoint>> endpoints) = 0;
};

// Stable order, one step per request.
class RoundRobinBalancer : public Balancer {
 public:
  std::size_t choose(std::span<const std::size_t> candidates,
                     std::span<const std::unique_ptr<Endpoint>> endpoints) override;

 private:
  std::atomic<std::uint64_t> next_{0};
};

// Highest priority tier, rotating within it.
class PriorityBalancer : public Balancer {
 public:
  std::size_t choose(std::span<const std::size_t> candidates,
                     std::span<const std::unique_ptr<Endpoint>> endpoints) override;

 private:
  std::atomic<std::uint64_t> next_{0};
};

// Fewest in flight within the highest priority tier; ties rotate.
class LeastConnectionsBalancer : public Balancer {
 public:
  std::size_t choose(std::span<const std::size_t> candidates,
                     std::span<const std::unique_ptr<Endpoint>> endpoints) override;

 private:
  std::atomic<std::uint64_t> next_{0};
};

std::unique_ptr<Balancer> make_balancer(std::string_view name);

}  // namespace olla::pool
