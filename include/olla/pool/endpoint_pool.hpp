#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
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
//
// Endpoints live in fixed slots that are never moved or freed while the daemon runs: a reload
// appends new slots and retires removed endpoints, so the request path reads slots without locks
// and a stream keeps its Endpoint& to the end.
class EndpointPool {
 public:
  static constexpr std::size_t kMaxSlots = 1024;  // endpoints ever configured, reloads included

  explicit EndpointPool(const config::Config& cfg);

  // Slots in use, retired ones included (check Endpoint::retired).
  std::size_t size() const { return count_.load(std::memory_order_acquire); }
  Endpoint& at(std::size_t i) { return *slots_[i]; }
  const Endpoint& at(std::size_t i) const { return *slots_[i]; }

  struct ReloadResult {
    std::vector<std::size_t> added;    // new slots
    std::vector<std::size_t> retired;  // endpoints no longer configured
    std::size_t kept = 0;              // unchanged endpoints (same name and settings)
  };
  // Applies a new endpoint list: unchanged endpoints keep their slot and state; changed and new
  // ones get new slots (prepare(slot, cfg) runs before a slot becomes visible); the rest retire.
  // Throws std::length_error past kMaxSlots.
  ReloadResult reload(
      const std::vector<config::EndpointConfig>& endpoints,
      const std::function<void(std::size_t, const config::EndpointConfig&)>& prepare);
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
                       Indexes& out) const;

  std::span<const std::unique_ptr<Endpoint>> slots() const { return {slots_.data(), size()}; }
  std::unique_ptr<Endpoint> make_endpoint(const config::EndpointConfig& ep) const;

  std::array<std::unique_ptr<Endpoint>, kMaxSlots> slots_;
  std::atomic<std::size_t> count_{0};
  std::mutex reload_mutex_;
  int breaker_threshold_;
  config::Duration breaker_cooldown_;
  ModelRegistry models_;
  std::unique_ptr<Balancer> balancer_;
  bool strict_ = false;
};

}  // namespace olla::pool
