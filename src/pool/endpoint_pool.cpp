#include "olla/pool/endpoint_pool.hpp"

#include <algorithm>
#include <stdexcept>

namespace olla::pool {

EndpointPool::EndpointPool(const config::Config& cfg)
    : breaker_threshold_(cfg.proxy.breaker_failure_threshold),
      breaker_cooldown_(cfg.proxy.breaker_cooldown),
      models_(cfg.discovery.endpoints.size()),
      balancer_(make_balancer(cfg.proxy.load_balancer)),
      strict_(cfg.model_registry.routing_strategy == "strict") {
  if (cfg.discovery.endpoints.size() > kMaxSlots) throw std::length_error("too many endpoints");
  for (const auto& ep : cfg.discovery.endpoints) slots_[count_++] = make_endpoint(ep);
}

std::unique_ptr<Endpoint> EndpointPool::make_endpoint(const config::EndpointConfig& ep) const {
  auto e = std::make_unique<Endpoint>(ep);
  e->breaker.configure(breaker_threshold_, breaker_cooldown_);
  return e;
}

EndpointPool::ReloadResult EndpointPool::reload(
    const std::vector<config::EndpointConfig>& endpoints,
    const std::function<void(std::size_t, const config::EndpointConfig&)>& prepare) {
  std::lock_guard lock(reload_mutex_);
  ReloadResult result;
  const std::size_t before = size();
  std::vector<bool> keep(before, false);
  std::vector<const config::EndpointConfig*> fresh;
  for (const auto& ep : endpoints) {
    bool found = false;
    for (std::size_t i = 0; i < before && !found; ++i) {
      if (!slots_[i]->retired.load() && slots_[i]->cfg == ep) keep[i] = found = true;
    }
    if (!found) fresh.push_back(&ep);
  }
  if (before + fresh.size() > kMaxSlots) {
    throw std::length_error("more than " + std::to_string(kMaxSlots) +
                            " endpoints configured over this process's life; restart olla");
  }
  std::size_t next = before;
  for (const auto* ep : fresh) {
    slots_[next] = make_endpoint(*ep);
    if (prepare) prepare(next, *ep);
    result.added.push_back(next++);
  }
  count_.store(next, std::memory_order_release);  // new slots are visible from here on
  for (std::size_t i = 0; i < before; ++i) {
    if (slots_[i]->retired.load()) continue;
    if (keep[i]) {
      ++result.kept;
    } else {
      slots_[i]->retired.store(true);
      models_.set_models(i, {});
      result.retired.push_back(i);
    }
  }
  return result;
}

std::vector<bool> EndpointPool::routable_mask() const {
  const auto all = slots();
  std::vector<bool> mask(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) mask[i] = all[i]->routable();
  return mask;
}

std::size_t EndpointPool::routable_count() const {
  const auto all = slots();
  return std::count_if(all.begin(), all.end(), [](const auto& e) { return e->routable(); });
}

Selection EndpointPool::select(std::string_view model, std::span<const std::size_t> exclude) {
  Indexes candidates;
  auto result = this->candidates(model, exclude, candidates);
  if (!candidates.empty()) result.index = static_cast<int>(balancer_->choose(candidates, slots()));
  return result;
}

bool EndpointPool::has_candidate(std::string_view model,
                                 std::span<const std::size_t> exclude) const {
  Indexes candidates;
  this->candidates(model, exclude, candidates);
  return !candidates.empty();
}

Selection EndpointPool::candidates(std::string_view model, std::span<const std::size_t> exclude,
                                   Indexes& candidates) const {
  const auto all = slots();
  auto usable = [&](std::size_t i) {
    return i < all.size() && all[i]->routable() &&
           std::find(exclude.begin(), exclude.end(), i) == exclude.end();
  };
  const auto& snap = models_.current();
  const auto known =
      model.empty() ? snap.endpoints_by_model.end() : snap.endpoints_by_model.find(model);
  if (known != snap.endpoints_by_model.end()) {
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
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (usable(i)) candidates.push_back(i);
    }
    if (candidates.empty()) return {-1, 503, "no_healthy_endpoints", "no healthy LiteLLM endpoint"};
  }
  return {};
}

}  // namespace olla::pool
