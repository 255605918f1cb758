#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "olla/observe/histogram.hpp"
#include "olla/observe/usage_scanner.hpp"

namespace olla::pool {
class EndpointPool;
}

namespace olla::observe {

// What the session knows when a request ends.
struct RequestSample {
  std::string_view endpoint;   // "" when the gateway answered itself
  std::string_view model;      // as the client wrote it; any bytes
  int status = 0;              // sent to the client; outside 100-599 counts as status_class "other"
  double duration_s = 0;       // request arrival to last byte sent
  double ttfb_s = 0;           // to the first response byte; 0 = none (not observed)
  double upstream_wait_s = 0;  // time spent waiting on the upstream
  std::optional<Usage> usage;
};

// The gateway's counters and histograms, exported as Prometheus text.
//
// Recording is per-thread: each thread writes its own shard (found through a thread_local
// pointer), so requests on different cores never touch the same cache line or lock. A shard's
// tables grow only on its owner thread, under the shard's mutex, which the exporter also takes
// while copying out; lookups by the owner need no lock, and the counters are relaxed atomics.
// A new (endpoint, model) pair takes one global lock the first time a thread sees it, until the
// model cap is reached. A shard outlives its thread (its counts are kept): a later thread with the
// same id carries on with it.
//
// Model labels are bounded: the first max_models distinct models get their own label, later
// ones (and models longer than kMaxModelBytes) are counted as model="other" (a model really
// named "other" shares that series). Invalid UTF-8 becomes U+FFFD. Endpoint names come from the
// config and are not capped.
class Metrics {
 public:
  static constexpr std::size_t kDefaultMaxModels = 1000;
  static constexpr std::size_t kMaxModelBytes = 256;
  static constexpr std::string_view kOtherModel = "other";

  explicit Metrics(std::size_t max_models = kDefaultMaxModels);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void record_request(const RequestSample& s);
  void record_retry(std::string_view endpoint);
  void record_breaker_open(std::string_view endpoint);
  void record_client_cancel(std::string_view endpoint);

  // The whole exposition; endpoint gauges (in flight, up, status) are read from the pool.
  // Per-endpoint counters and histograms are listed for every pool endpoint, at 0 when idle.
  std::string prometheus(const pool::EndpointPool& pool) const;

  // Merged over every thread, for the status JSON (quantile() gives p50/p95/p99).
  Histogram::Snapshot latency(std::string_view endpoint) const;
  Histogram::Snapshot ttfb(std::string_view endpoint) const;
  Histogram::Snapshot overhead() const;
  std::uint64_t requests_total() const;
  // Distinct model labels admitted so far (<= max_models).
  std::size_t model_labels() const;

 private:
  struct Shard;
  struct SeriesCell;
  struct EndpointCell;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Shard& local_shard();
  SeriesCell& series(Shard& shard, std::string_view endpoint, std::string_view model);
  EndpointCell& endpoint_cell(Shard& shard, std::string_view endpoint);
  bool admit_model(std::string_view model);
  Histogram::Snapshot merged(std::string_view endpoint, bool ttfb) const;

  const std::uint64_t id_;  // tells this instance's thread_local cache entries from others'
  const std::size_t max_models_;

  mutable std::mutex shards_mutex_;
  std::vector<std::unique_ptr<Shard>> shards_;

  // Admitted models. Grows under models_mutex_ until full, then never changes again, so once
  // models_full_ is seen set it is read without the lock.
  mutable std::mutex models_mutex_;
  std::unordered_set<std::string, StringHash, std::equal_to<>> models_;
  std::atomic<bool> models_full_{false};
};

}  // namespace olla::observe
