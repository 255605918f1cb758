#include "olla/observe/metrics.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <thread>
#include <unordered_map>

#include "olla/observe/prometheus_text.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::observe {
namespace {

constexpr std::array<std::string_view, 6> kStatusClasses = {"1xx", "2xx", "3xx",
                                                            "4xx", "5xx", "other"};
constexpr std::array<pool::EndpointStatus, 6> kEndpointStatuses = {
    pool::EndpointStatus::unknown,      pool::EndpointStatus::healthy,
    pool::EndpointStatus::unhealthy,    pool::EndpointStatus::offline,
    pool::EndpointStatus::rate_limited, pool::EndpointStatus::config_error};

std::size_t status_class(int status) {
  return status >= 100 && status <= 599 ? static_cast<std::size_t>(status / 100 - 1) : 5;
}

std::atomic<std::uint64_t> g_next_id{1};

void add(std::atomic<std::uint64_t>& a, std::uint64_t n = 1) {
  a.fetch_add(n, std::memory_order_relaxed);
}
std::uint64_t get(const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// The series key: tag, endpoint length, endpoint, model. Unambiguous for any bytes.
void make_key(std::string& key, char tag, std::string_view endpoint, std::string_view model) {
  key.clear();
  key += tag;
  const auto n = static_cast<std::uint32_t>(endpoint.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key += endpoint;
  key += model;
}

}  // namespace

struct Metrics::SeriesCell {
  SeriesCell(std::string e, std::string m) : endpoint(std::move(e)), model(std::move(m)) {}
  const std::string endpoint;  // label values, valid UTF-8
  const std::string model;
  std::array<std::atomic<std::uint64_t>, kStatusClasses.size()> by_class{};
  std::atomic<std::uint64_t> prompt_tokens{0};
  std::atomic<std::uint64_t> completion_tokens{0};
  std::atomic<bool> has_usage{false};
};

struct Metrics::EndpointCell {
  explicit EndpointCell(std::string e) : endpoint(std::move(e)) {}
  const std::string endpoint;
  Histogram duration;
  Histogram ttfb;
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> breaker_opens{0};
  std::atomic<std::uint64_t> cancels{0};
};

struct Metrics::Shard {
  explicit Shard(std::thread::id t) : thread(t) {}
  const std::thread::id thread;
  // Taken by the owner while inserting and by readers while iterating; the owner's lookups
  // need no lock since only it changes the tables.
  mutable std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<SeriesCell>, StringHash, std::equal_to<>> series;
  std::unordered_map<std::string, std::unique_ptr<EndpointCell>, StringHash, std::equal_to<>>
      endpoints;
  Histogram overhead{Histogram::overhead_bounds()};
  std::string key;  // owner's scratch buffer
  // The owner's last request's cells (cells live as long as the shard): consecutive requests
  // mostly share an endpoint and a model, and then no key is built and nothing is hashed.
  SeriesCell* last_series = nullptr;
  EndpointCell* last_endpoint_cell = nullptr;
  std::string last_endpoint, last_model;
};

Metrics::Metrics(std::size_t max_models)
    : id_(g_next_id.fetch_add(1, std::memory_order_relaxed)), max_models_(max_models) {}

Metrics::~Metrics() = default;

Metrics::Shard& Metrics::local_shard() {
  struct Cache {
    std::uint64_t owner = 0;
    Shard* shard = nullptr;
  };
  thread_local Cache cache;
  if (cache.owner == id_) return *cache.shard;
  std::lock_guard lock(shards_mutex_);
  const auto me = std::this_thread::get_id();
  // A thread id is reused only after its thread ended, so the shard still has one writer.
  auto it =
      std::find_if(shards_.begin(), shards_.end(), [&](const auto& s) { return s->thread == me; });
  if (it == shards_.end()) {
    shards_.push_back(std::make_unique<Shard>(me));
    it = shards_.end() - 1;
  }
  cache = {id_, it->get()};
  return **it;
}

bool Metrics::admit_model(std::string_view model) {
  if (model.size() > kMaxModelBytes) return false;
  if (models_full_.load(std::memory_order_acquire)) return models_.find(model) != models_.end();
  std::lock_guard lock(models_mutex_);
  if (models_.find(model) != models_.end()) return true;
  if (models_.size() >= max_models_) return false;
  models_.emplace(model);
  if (models_.size() >= max_models_) models_full_.store(true, std::memory_order_release);
  return true;
}

Metrics::SeriesCell& Metrics::series(Shard& shard, std::string_view endpoint,
                                     std::string_view model) {
  make_key(shard.key, 'm', endpoint, model);
  if (auto it = shard.series.find(shard.key); it != shard.series.end()) return *it->second;
  // First time this thread sees the pair: only admitted models get their own series; the rest
  // share the endpoint's "other" series, so the table stays bounded whatever clients send.
  std::string label;
  if (admit_model(model)) {
    label = valid_utf8(model);
  } else {
    make_key(shard.key, 'o', endpoint, {});
    if (auto it = shard.series.find(shard.key); it != shard.series.end()) return *it->second;
    label = kOtherModel;
  }
  auto cell = std::make_unique<SeriesCell>(valid_utf8(endpoint), std::move(label));
  auto& ref = *cell;
  std::lock_guard lock(shard.mutex);
  shard.series.emplace(shard.key, std::move(cell));
  return ref;
}

Metrics::EndpointCell& Metrics::endpoint_cell(Shard& shard, std::string_view endpoint) {
  if (auto it = shard.endpoints.find(endpoint); it != shard.endpoints.end()) return *it->second;
  auto cell = std::make_unique<EndpointCell>(valid_utf8(endpoint));
  auto& ref = *cell;
  std::lock_guard lock(shard.mutex);
  shard.endpoints.emplace(std::string(endpoint), std::move(cell));
  return ref;
}

void Metrics::record_request(const RequestSample& s) {
  Shard& shard = local_shard();
  if (!shard.last_series || s.endpoint != shard.last_endpoint || s.model != shard.last_model) {
    shard.last_series = &series(shard, s.endpoint, s.model);
    shard.last_endpoint_cell = &endpoint_cell(shard, s.endpoint);
    shard.last_endpoint.assign(s.endpoint);
    shard.last_model.assign(s.model);
  }
  SeriesCell& cell = *shard.last_series;
  add(cell.by_class[status_class(s.status)]);
  if (s.usage) {
    add(cell.prompt_tokens, s.usage->prompt_tokens);
    add(cell.completion_tokens, s.usage->completion_tokens);
    if (!cell.has_usage.load(std::memory_order_relaxed))
      cell.has_usage.store(true, std::memory_order_relaxed);
  }
  EndpointCell& ep = *shard.last_endpoint_cell;
  ep.duration.observe(s.duration_s);
  if (s.ttfb_s > 0) ep.ttfb.observe(s.ttfb_s);
  // Overhead is a proxied request's figure: the gateway's own answers have no upstream part.
  if (!s.endpoint.empty()) shard.overhead.observe(std::max(0.0, s.duration_s - s.upstream_wait_s));
}

void Metrics::record_retry(std::string_view endpoint) {
  add(endpoint_cell(local_shard(), endpoint).retries);
}

void Metrics::record_breaker_open(std::string_view endpoint) {
  add(endpoint_cell(local_shard(), endpoint).breaker_opens);
}

void Metrics::record_client_cancel(std::string_view endpoint) {
  add(endpoint_cell(local_shard(), endpoint).cancels);
}

Histogram::Snapshot Metrics::merged(std::string_view endpoint, bool ttfb) const {
  Histogram::Snapshot out = Histogram().snapshot();  // zeros, default bounds
  std::lock_guard lock(shards_mutex_);
  for (const auto& shard : shards_) {
    std::lock_guard shard_lock(shard->mutex);
    if (auto it = shard->endpoints.find(endpoint); it != shard->endpoints.end())
      out.merge(ttfb ? it->second->ttfb.snapshot() : it->second->duration.snapshot());
  }
  return out;
}

Histogram::Snapshot Metrics::latency(std::string_view endpoint) const {
  return merged(endpoint, false);
}

Histogram::Snapshot Metrics::ttfb(std::string_view endpoint) const {
  return merged(endpoint, true);
}

Histogram::Snapshot Metrics::overhead() const {
  Histogram::Snapshot out = Histogram(Histogram::overhead_bounds()).snapshot();
  std::lock_guard lock(shards_mutex_);
  for (const auto& shard : shards_) out.merge(shard->overhead.snapshot());
  return out;
}

std::uint64_t Metrics::requests_total() const {
  std::uint64_t total = 0;
  std::lock_guard lock(shards_mutex_);
  for (const auto& shard : shards_) {
    std::lock_guard shard_lock(shard->mutex);
    for (const auto& [key, cell] : shard->series) {
      for (const auto& c : cell->by_class) total += get(c);
    }
  }
  return total;
}

std::size_t Metrics::model_labels() const {
  std::lock_guard lock(models_mutex_);
  return models_.size();
}

std::string Metrics::prometheus(const pool::EndpointPool& pool) const {
  struct SeriesTotals {
    std::array<std::uint64_t, kStatusClasses.size()> by_class{};
    std::uint64_t prompt = 0, completion = 0;
    bool has_usage = false;
  };
  struct EndpointTotals {
    std::optional<Histogram::Snapshot> duration, ttfb;
    std::uint64_t retries = 0, breaker_opens = 0, cancels = 0;
    bool in_pool = false;  // pool endpoints are always listed; others only with figures
  };
  // Copy out and merge the shards; labels sort for a stable output.
  std::map<std::pair<std::string, std::string>, SeriesTotals> series;
  std::map<std::string, EndpointTotals> endpoints;
  Histogram::Snapshot overhead = Histogram(Histogram::overhead_bounds()).snapshot();
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (!pool.at(i).retired.load(std::memory_order_relaxed)) {
      endpoints[valid_utf8(pool.at(i).cfg.name)].in_pool = true;
    }
  }
  {
    std::lock_guard lock(shards_mutex_);
    for (const auto& shard : shards_) {
      std::lock_guard shard_lock(shard->mutex);
      for (const auto& [key, cell] : shard->series) {
        auto& t = series[{cell->endpoint, cell->model}];
        for (std::size_t c = 0; c < t.by_class.size(); ++c) t.by_class[c] += get(cell->by_class[c]);
        t.prompt += get(cell->prompt_tokens);
        t.completion += get(cell->completion_tokens);
        t.has_usage |= cell->has_usage.load(std::memory_order_relaxed);
      }
      for (const auto& [key, cell] : shard->endpoints) {
        auto& t = endpoints[cell->endpoint];
        const auto merge = [](std::optional<Histogram::Snapshot>& into, const Histogram& h) {
          if (into) {
            into->merge(h.snapshot());
          } else {
            into = h.snapshot();
          }
        };
        merge(t.duration, cell->duration);
        merge(t.ttfb, cell->ttfb);
        t.retries += get(cell->retries);
        t.breaker_opens += get(cell->breaker_opens);
        t.cancels += get(cell->cancels);
      }
      overhead.merge(shard->overhead.snapshot());
    }
  }
  const Histogram::Snapshot empty = Histogram().snapshot();

  PrometheusText w;
  w.family("olla_requests_total", "counter",
           "Requests answered, by endpoint, model and HTTP status class.");
  for (const auto& [labels, t] : series) {
    for (std::size_t c = 0; c < t.by_class.size(); ++c) {
      if (t.by_class[c] == 0) continue;
      w.sample("olla_requests_total",
               {{"endpoint", labels.first},
                {"model", labels.second},
                {"status_class", kStatusClasses[c]}},
               t.by_class[c]);
    }
  }
  w.family("olla_request_duration_seconds", "histogram",
           "Time from request arrival to the last byte sent, by endpoint.");
  const auto listed = [](const EndpointTotals& t, const std::optional<Histogram::Snapshot>& h) {
    return t.in_pool || (h && h->count > 0);
  };
  for (const auto& [name, t] : endpoints) {
    if (listed(t, t.duration))
      w.histogram("olla_request_duration_seconds", {{"endpoint", name}},
                  t.duration.value_or(empty));
  }
  w.family("olla_time_to_first_byte_seconds", "histogram",
           "Time from request arrival to the first response byte sent, by endpoint.");
  for (const auto& [name, t] : endpoints) {
    if (listed(t, t.ttfb))
      w.histogram("olla_time_to_first_byte_seconds", {{"endpoint", name}}, t.ttfb.value_or(empty));
  }
  w.family("olla_gateway_overhead_seconds", "histogram",
           "Request duration minus the time spent waiting on the upstream, for proxied requests.");
  w.histogram("olla_gateway_overhead_seconds", {}, overhead);

  w.family("olla_prompt_tokens_total", "counter",
           "Prompt tokens reported in response usage, by endpoint and model.");
  for (const auto& [labels, t] : series) {
    if (t.has_usage)
      w.sample("olla_prompt_tokens_total", {{"endpoint", labels.first}, {"model", labels.second}},
               t.prompt);
  }
  w.family("olla_completion_tokens_total", "counter",
           "Completion tokens reported in response usage, by endpoint and model.");
  for (const auto& [labels, t] : series) {
    if (t.has_usage)
      w.sample("olla_completion_tokens_total",
               {{"endpoint", labels.first}, {"model", labels.second}}, t.completion);
  }

  w.family("olla_retries_total", "counter", "Requests retried after a failure on the endpoint.");
  for (const auto& [name, t] : endpoints) {
    if (t.in_pool || t.retries) w.sample("olla_retries_total", {{"endpoint", name}}, t.retries);
  }
  w.family("olla_circuit_breaker_opens_total", "counter",
           "Times the endpoint's circuit breaker opened.");
  for (const auto& [name, t] : endpoints) {
    if (t.in_pool || t.breaker_opens)
      w.sample("olla_circuit_breaker_opens_total", {{"endpoint", name}}, t.breaker_opens);
  }
  w.family("olla_client_cancellations_total", "counter",
           "Requests the client abandoned before the response was complete.");
  for (const auto& [name, t] : endpoints) {
    if (t.in_pool || t.cancels)
      w.sample("olla_client_cancellations_total", {{"endpoint", name}}, t.cancels);
  }

  w.family("olla_endpoint_in_flight", "gauge", "Requests under way on the endpoint.");
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool.at(i).retired.load(std::memory_order_relaxed)) continue;
    w.sample("olla_endpoint_in_flight", {{"endpoint", pool.at(i).cfg.name}},
             static_cast<double>(pool.at(i).in_flight.load(std::memory_order_relaxed)));
  }
  w.family("olla_endpoint_up", "gauge", "1 when the endpoint's health checks pass, else 0.");
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool.at(i).retired.load(std::memory_order_relaxed)) continue;
    const bool up =
        pool.at(i).status.load(std::memory_order_relaxed) == pool::EndpointStatus::healthy;
    w.sample("olla_endpoint_up", {{"endpoint", pool.at(i).cfg.name}}, std::uint64_t{up});
  }
  w.family("olla_endpoint_status", "gauge", "1 for the endpoint's current health status.");
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (pool.at(i).retired.load(std::memory_order_relaxed)) continue;
    const auto current = pool.at(i).status.load(std::memory_order_relaxed);
    for (const auto s : kEndpointStatuses) {
      w.sample("olla_endpoint_status",
               {{"endpoint", pool.at(i).cfg.name}, {"status", pool::to_string(s)}},
               std::uint64_t{s == current});
    }
  }
  return w.take();
}

}  // namespace olla::observe
