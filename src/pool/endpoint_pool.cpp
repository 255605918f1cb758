#include "olla/pool/endpoint_pool.hpp"

#include <algorithm>

namespace olla::pool {

EndpointPool::EndpointPool(const config::Config& cfg)
    : models_(cfg.discovery.endpoints.size()),
      balancer_(make_balancer(cfg.proxy.load_balancer)),
      strict_(cfg.model_registry.routing_strategy == "strict") {
  for (const auto& ep : cfg.discovery.endpoints)
    endpoints_.push_back(std::make_unique<Endpoint>(ep));
}

std::vector<bool> EndpointPool::routable_mask() const {
  std::vector<bool> mask(endpoints_.size());
  for (std::size_t i = 0; i < endpoints_.size(); ++i) mask[i] = endpoints_[i]->routable();
  return mask;
}

std::size_t EndpointPool::routable_count() const {
  return std::count_if(endpoints_.begin(), endpoints_.end(),
                       [](const auto& e) { return e->routable(); });
}

Selection EndpointPool::select(std::string_view model, std::span<const std::size_t> exclude) {
  std::vector<std::size_t> candidates;
  candidates.reserve(endpoints_.size());
  auto result = this->candidates(model, exclude, candidates);
  if (!candidates.empty()) result.index = static_cast<int>(balancer_->choose(candidates, endpoints_));
  return result;
}

bool EndpointPool::has_candidate(std::string_view model, std::span<const std::size_t> exclude) const {
  std::vector<std::size_t> candidates;
  this->candidates(model, exclude, candidates);
  return !candidates.empty();
}

Selection EndpointPool::candidates(std::string_view model, std::span<const std::size_t> exclude,
                                   std::vector<std::size_t>& candidates) const {
  auto usable = [&](std::size_t i) {
    return endpoints_[i]->routable() &&
           std::find(exclude.begin(), exclude.end(), i) == exclude.end();
  };
  const auto snap = models_.snapshot();
  const auto known = model.empty() ? snap->endpoints_by_model.end()
                                   : snap->endpoints_by_model.find(std::string(model));
  if (known != snap->endpoints_by_model.end()) {
    for (auto i : known->second) {
      if (usable(i)) candidates.push_back(i);
    }
    if (candidates.empty()) {
      return {-1, 503, "no_healthy_endpoints",
              "no healthy endpoint serves model '" + std::string(model) + "'"};
    }
  } else {
    if (!model.empty() && strict_) {
      return {-1, 404, "model_not_found", "model '" + std::string(model) + "' is not served here"};
    }
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
      if (usable(i)) candidates.push_back(i);
    }
    if (candidates.empty()) return {-1, 503, "no_healthy_endpoints", "no healthy LiteLLM endpoint"};
  }
  return {};
}

}  // namespace olla::pool
