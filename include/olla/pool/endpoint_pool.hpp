#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "olla/config/config.hpp"
#include "olla/pool/balancer.hpp"
#include "olla/pool/endpoint.hpp"
#include "olla/pool/model_registry.hpp"

namespace olla::pool {

// The outcome of choosing an endpoint for a request: an index, or the gateway error to answer.
struct Selection {
  int index = -1;
  int status = 0;  // 404 or 503 when index < 0
  std::string error_type;
  std::string message;
  bool ok() const { return index >= 0; }
};

// All configured endpoints, their models and the balancer. Shared by every thread; Beast-free.
class EndpointPool {
 public:
  explicit EndpointPool(const config::Config& cfg);

  std::size_t size() const { return endpoints_.size(); }
  Endpoint& at(std::size_t i) { return *endpoints_[i]; }
  const Endpoint& at(std::size_t i) const { return *endpoints_[i]; }
  ModelRegistry& models() { return models_; }
  const ModelRegistry& models() const { return models_; }

  // Candidates: routable endpoints serving the model (all routable ones for an unknown model under
  // the optimistic strategy). `exclude` lists endpoints already tried for this request.
  Selection select(std::string_view model, std::span<const std::size_t> exclude = {});

  // Whether select() would find an endpoint (without moving any balancer state).
  bool has_candidate(std::string_view model, std::span<const std::size_t> exclude) const;

  std::vector<bool> routable_mask() const;
  std::size_t routable_count() const;

 private:
  // The candidates for a request, or the error when there are none.
  Selection candidates(std::string_view model, std::span<const std::size_t> exclude,
                       std::vector<std::size_t>& out) const;

  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  ModelRegistry models_;
  std::unique_ptr<Balancer> balancer_;
  bool strict_ = false;
};

}  // namespace olla::pool
