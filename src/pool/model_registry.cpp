#include "olla/pool/model_registry.hpp"

#include <unordered_set>

namespace olla::pool {
namespace {

std::atomic<std::uint64_t> next_stamp{1};

struct Kept {
  std::uint64_t stamp = 0;
  std::shared_ptr<const ModelRegistry::Snapshot> snapshot;
};
thread_local Kept kept;

}  // namespace

ModelRegistry::ModelRegistry(std::size_t endpoint_count) {
  auto s = std::make_shared<Snapshot>();
  s->per_endpoint.resize(endpoint_count);
  publish(std::move(s));
}

void ModelRegistry::publish(std::shared_ptr<const Snapshot> next) {
  std::atomic_store(&snapshot_, std::move(next));
  stamp_.store(next_stamp.fetch_add(1, std::memory_order_relaxed), std::memory_order_release);
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
  publish(std::move(next));
}

std::shared_ptr<const ModelRegistry::Snapshot> ModelRegistry::snapshot() const {
  return std::atomic_load(&snapshot_);
}

const ModelRegistry::Snapshot& ModelRegistry::current() const {
  // A stamp read before the snapshot: at worst the snapshot is newer than its stamp, and the next
  // call takes it again.
  const auto stamp = stamp_.load(std::memory_order_acquire);
  if (kept.stamp != stamp) {
    kept.snapshot = std::atomic_load(&snapshot_);
    kept.stamp = stamp;
  }
  return *kept.snapshot;
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
