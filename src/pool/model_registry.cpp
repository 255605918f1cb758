#include "olla/pool/model_registry.hpp"

#include <unordered_set>

namespace olla::pool {

ModelRegistry::ModelRegistry(std::size_t endpoint_count) {
  auto s = std::make_shared<Snapshot>();
  s->per_endpoint.resize(endpoint_count);
  snapshot_ = std::move(s);
}

void ModelRegistry::set_models(std::size_t endpoint, std::vector<ModelInfo> models) {
  std::lock_guard lock(write_mutex_);
  auto next = std::make_shared<Snapshot>();
  next->per_endpoint = std::atomic_load(&snapshot_)->per_endpoint;
  if (endpoint >= next->per_endpoint.size()) next->per_endpoint.resize(endpoint + 1);
  next->per_endpoint[endpoint] = std::move(models);
  for (std::size_t e = 0; e < next->per_endpoint.size(); ++e) {
    for (const auto& m : next->per_endpoint[e]) {
      // An id listed twice by one endpoint must not give it a double share of traffic.
      auto& eps = next->endpoints_by_model[m.id];
      if (eps.empty() || eps.back() != e) eps.push_back(e);
      next->provider_by_model.emplace(m.id, m.provider);
    }
  }
  std::atomic_store(&snapshot_, std::shared_ptr<const Snapshot>(std::move(next)));
}

std::shared_ptr<const ModelRegistry::Snapshot> ModelRegistry::snapshot() const {
  return std::atomic_load(&snapshot_);
}

std::vector<ModelInfo> ModelRegistry::union_models(const std::vector<bool>& include) const {
  const auto snap = snapshot();
  std::vector<ModelInfo> out;
  std::unordered_set<std::string> seen;
  for (std::size_t e = 0; e < snap->per_endpoint.size(); ++e) {
    if (e >= include.size() || !include[e]) continue;
    for (const auto& m : snap->per_endpoint[e]) {
      if (seen.insert(m.id).second) out.push_back(m);
    }
  }
  return out;
}

std::string ModelRegistry::provider_of(const std::string& model) const {
  const auto snap = snapshot();
  auto it = snap->provider_by_model.find(model);
  return it == snap->provider_by_model.end() ? std::string() : it->second;
}

}  // namespace olla::pool
