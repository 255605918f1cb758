#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace olla::pool {

struct ModelInfo {
  std::string id;
  std::string provider;  // resolved (see provider.hpp)
  std::int64_t created = 0;
};

// Looks a std::string key up by std::string_view without making a string of it.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Which endpoint serves which model. Writers (discovery) replace one endpoint's list; readers (the
// request path) take an immutable snapshot without locking each other out.
class ModelRegistry {
 public:
  struct Snapshot {
    std::vector<std::vector<ModelInfo>> per_endpoint;
    StringMap<std::vector<std::size_t>> endpoints_by_model;
    StringMap<std::string> provider_by_model;
  };

  explicit ModelRegistry(std::size_t endpoint_count);

  void set_models(std::size_t endpoint, std::vector<ModelInfo> models);
  std::shared_ptr<const Snapshot> snapshot() const;
  // The snapshot as this thread last took it, taken again when a newer one has been published:
  // the request path's read, which touches no shared reference count or lock (snapshot() takes
  // libstdc++'s lock for atomic shared_ptr and bumps a count every worker writes to). Valid until
  // this thread's next current(): never keep it across a co_await.
  const Snapshot& current() const;

  // Union over the endpoints where include[i] is true, de-duplicated by id, in discovery order.
  std::vector<ModelInfo> union_models(const std::vector<bool>& include) const;

  // The provider of a model any endpoint lists, else "".
  std::string provider_of(const std::string& model) const;

 private:
  void publish(std::shared_ptr<const Snapshot> next);

  mutable std::mutex write_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;  // accessed with std::atomic_load/store
  // Stamps snapshot_ once stored; stamps are unique in the process, so a thread's kept snapshot
  // of one registry never passes for another's.
  std::atomic<std::uint64_t> stamp_{0};
};

}  // namespace olla::pool
