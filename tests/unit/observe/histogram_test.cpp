#include "olla/observe/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace olla::observe {
namespace {

const std::vector<double> kSmall = {1, 2, 4};

TEST(Histogram, DefaultBoundsSpanHalfAMillisecondToTenMinutes) {
  const auto b = Histogram::default_bounds();
  ASSERT_GE(b.size(), 10u);
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 600);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(std::adjacent_find(b.begin(), b.end()), b.end());
  const auto o = Histogram::overhead_bounds();
  EXPECT_TRUE(std::is_sorted(o.begin(), o.end()));
  EXPECT_LT(o.front(), 0.0005);
}

TEST(Histogram, EmptySnapshot) {
  const Histogram h(kSmall);
  const auto s = h.snapshot();
  EXPECT_EQ(s.bounds, kSmall);
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0, 0, 0, 0}));
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0);
  EXPECT_TRUE(std::isnan(h.quantile(0.5)));
}

TEST(Histogram, BucketsAreLessOrEqualAndCumulative) {
  Histogram h(kSmall);
  for (double v : {0.0, 0.5, 1.0, 1.0000001, 2.0, 3.0, 4.0, 4.5, 1e6}) h.observe(v);
  const auto s = h.snapshot();
  // le=1: 0, 0.5, 1 | le=2: 1.0000001, 2 | le=4: 3, 4 | +Inf: 4.5, 1e6
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{3, 5, 7, 9}));
  EXPECT_EQ(s.count, 9u);
  EXPECT_NEAR(s.sum, 0.5 + 1 + 1.0000001 + 2 + 3 + 4 + 4.5 + 1e6, 1e-6);
}

TEST(Histogram, NegativeCountsAsZeroAndNanIsIgnored) {
  Histogram h(kSmall);
  h.observe(-3);
  h.observe(std::nan(""));
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 1, 1, 1}));
  EXPECT_EQ(s.sum, 0);
}

TEST(Histogram, SumIsExactToTheNanosecond) {
  Histogram h;
  for (int i = 0; i < 1000; ++i) h.observe(0.001);
  EXPECT_DOUBLE_EQ(h.snapshot().sum, 1.0);
}

TEST(Histogram, QuantileInterpolatesInsideTheBucket) {
  Histogram h(kSmall);
  for (int i = 0; i < 10; ++i) h.observe(0.5);  // (0, 1]
  for (int i = 0; i < 10; ++i) h.observe(1.5);  // (1, 2]
  EXPECT_DOUBLE_EQ(h.quantile(0.25), 0.5);      // rank 5 of 10 in [0, 1]
  EXPECT_DOUBLE_EQ(h.quantile(0.5), 1.0);       // rank 10: the top of the first bucket
  EXPECT_DOUBLE_EQ(h.quantile(0.75), 1.5);      // rank 15: half way through (1, 2]
  EXPECT_DOUBLE_EQ(h.quantile(1.0), 2.0);
  EXPECT_DOUBLE_EQ(h.quantile(0.0), 0.0);  // the lower edge of the first non-empty bucket
  EXPECT_DOUBLE_EQ(h.quantile(-1), 0.0);   // clamped
  EXPECT_DOUBLE_EQ(h.quantile(7), 2.0);
}

TEST(Histogram, QuantileSkipsEmptyLeadingBuckets) {
  Histogram h(kSmall);
  for (int i = 0; i < 4; ++i) h.observe(3);  // (2, 4]
  EXPECT_DOUBLE_EQ(h.quantile(0.0), 2.0);
  EXPECT_DOUBLE_EQ(h.quantile(0.5), 3.0);
  EXPECT_DOUBLE_EQ(h.quantile(1.0), 4.0);
}

TEST(Histogram, QuantileInTheInfBucketIsTheHighestBound) {
  Histogram h(kSmall);
  h.observe(0.5);
  for (int i = 0; i < 9; ++i) h.observe(100);
  EXPECT_DOUBLE_EQ(h.quantile(0.99), 4.0);
  EXPECT_DOUBLE_EQ(h.quantile(0.05), 0.5);
}

TEST(Histogram, QuantilesOfAUniformSpreadAreClose) {
  Histogram h;
  for (int ms = 1; ms <= 1000; ++ms) h.observe(ms / 1000.0);
  // Within the width of the bucket holding the true value.
  EXPECT_NEAR(h.quantile(0.5), 0.5, 0.01);
  EXPECT_NEAR(h.quantile(0.95), 0.95, 0.08);
  EXPECT_NEAR(h.quantile(0.99), 0.99, 0.02);
}

TEST(Histogram, MergeAddsShards) {
  Histogram a(kSmall), b(kSmall);
  a.observe(0.5);
  b.observe(3);
  b.observe(10);
  auto s = a.snapshot();
  s.merge(b.snapshot());
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 1, 2, 3}));
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.sum, 13.5);

  Histogram::Snapshot empty;
  empty.merge(s);
  EXPECT_EQ(empty.cumulative, s.cumulative);
}

TEST(Histogram, ConcurrentObserversLoseNothing) {
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 10'000; ++i) h.observe(0.001 * (t + 1));
    });
  }
  for (auto& t : threads) t.join();
  const auto s = h.snapshot();
  EXPECT_EQ(s.count, 40'000u);
  EXPECT_DOUBLE_EQ(s.sum, 10'000 * (0.001 + 0.002 + 0.003 + 0.004));
}

}  // namespace
}  // namespace olla::observe
