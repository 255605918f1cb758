#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace olla::observe {

// A Prometheus-style histogram of durations in seconds: fixed upper bounds, one counter per
// bucket. observe() is lock-free (relaxed atomics), so every thread may record into one instance;
// a snapshot taken while others record may be off by the observations in progress, never torn
// within one counter.
class Histogram {
 public:
  struct Snapshot {
    std::vector<double> bounds;             // finite upper bounds, ascending
    std::vector<std::uint64_t> cumulative;  // bounds.size() + 1 entries; the last is +Inf
    double sum = 0;                         // seconds
    std::uint64_t count = 0;                // == cumulative.back()

    // Adds another snapshot with the same bounds (shards of one series).
    void merge(const Snapshot& other);
    // Estimated q-quantile (0 <= q <= 1) in seconds, as Prometheus' histogram_quantile does it:
    // linear interpolation inside the bucket holding the rank, the first bucket starting at 0,
    // and the highest finite bound when the rank falls into +Inf. NaN when count == 0.
    double quantile(double q) const;
  };

  // 0.5 ms .. 10 min: a cached answer, a first token, a long non-streaming completion.
  static std::span<const double> default_bounds();
  // 50 us .. 1 s: the gateway's own overhead per request.
  static std::span<const double> overhead_bounds();

  Histogram();
  // Bounds must be finite, ascending and unique.
  explicit Histogram(std::span<const double> upper_bounds);

  // Negative values count as 0; NaN is ignored.
  void observe(double seconds);

  Snapshot snapshot() const;
  double quantile(double q) const { return snapshot().quantile(q); }
  std::span<const double> bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative; last is +Inf
  // Nanoseconds: integer adds are a single instruction and exact (a double CAS loop is neither).
  std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace olla::observe
