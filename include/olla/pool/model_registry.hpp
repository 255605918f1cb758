#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace olla::pool {

struct ModelInfo {
  std::string id;
  std::string provider;  // resolved (see provider.hpp)
  std::int64_t created = 0;
};

// Which endpoint serves which model. Writers (discovery) replace one endpoint's list; readers (the
// request path) take an immutable snapshot without locking each other out.
class ModelRegistry {
 public:
  struct Snapshot {
    std::vector<std::vector<ModelInfo>> per_endpoint;
    std::unordered_map<std::string, std::vector<std::size_t>> endpoints_by_model;
    std::unordered_map<std::string, std::string> provider_by_model;
  };

  explicit ModelRegistry(std::size_t endpoint_count);

  void set_models(std::size_t endpoint, std::vector<ModelInfo> models);
  std::shared_ptr<const Snapshot> snapshot() const;

  // Union over the endpoints where include[i] is true, de-duplicated by id, in discovery order.
  std::vector<ModelInfo> union_models(const std::vector<bool>& include) const;

  // The provider of a model any endpoint lists, else "".
  std::string provider_of(const std::string& model) const;

 private:
  mutable std::mutex write_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;  // accessed with std::atomic_load/store
};

}  // namespace olla::pool
