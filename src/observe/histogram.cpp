#include "olla/observe/histogram.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <limits>

namespace olla::observe {
namespace {

constexpr std::array<double, 20> kDefaultBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10,
                                                   15,     30,    60,     120,   300,  600};

constexpr std::array<double, 16> kOverheadBounds = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005,
    0.0075,  0.01,   0.025,   0.05,   0.1,     0.25,  0.5,    1};

// Beyond ~31 years a duration is a bug, and the nanosecond sum must not overflow on conversion.
constexpr double kMaxSeconds = 1e9;

}  // namespace

std::span<const double> Histogram::default_bounds() { return kDefaultBounds; }
std::span<const double> Histogram::overhead_bounds() { return kOverheadBounds; }

Histogram::Histogram() : Histogram(default_bounds()) {}

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()));
  assert(std::adjacent_find(bounds_.begin(), bounds_.end()) == bounds_.end());
}

void Histogram::observe(double seconds) {
  if (std::isnan(seconds)) return;
  seconds = std::clamp(seconds, 0.0, kMaxSeconds);
  // Prometheus buckets are "less or equal": the first bound >= the value.
  const auto i = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e9)),
                    std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.count = total;
  s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void Histogram::Snapshot::merge(const Snapshot& other) {
  if (cumulative.empty()) {
    *this = other;
    return;
  }
  assert(bounds == other.bounds);
  for (std::size_t i = 0; i < cumulative.size() && i < other.cumulative.size(); ++i)
    cumulative[i] += other.cumulative[i];
  sum += other.sum;
  count += other.count;
}

double Histogram::Snapshot::quantile(double q) const {
  if (count == 0 || cumulative.empty() || std::isnan(q))
    return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(count);
  // The first bucket that holds the rank and is not empty (so q = 0 gives the lowest sample's
  // bucket rather than 0/0).
  std::size_t b = 0;
  while (b < cumulative.size() &&
         (static_cast<double>(cumulative[b]) < rank || cumulative[b] == 0)) {
    ++b;
  }
  if (b >= bounds.size())
    return bounds.empty() ? std::numeric_limits<double>::quiet_NaN() : bounds.back();
  const double start = b == 0 ? 0.0 : bounds[b - 1];
  const double end = bounds[b];
  const std::uint64_t before = b == 0 ? 0 : cumulative[b - 1];
  const double in_bucket = static_cast<double>(cumulative[b] - before);
  return start + (end - start) * ((rank - static_cast<double>(before)) / in_bucket);
}

}  // namespace olla::observe
