#include "olla/limits/rate_limiter.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace olla::limits {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;
using Decision = RateLimiter::Decision;

const Clock::time_point t0 = Clock::time_point{} + 24h;

RateLimitConfig limits(std::uint32_t per_ip, std::uint32_t burst, std::uint32_t global = 0,
                       std::uint32_t health = 0) {
  RateLimitConfig c;
  c.per_ip_per_minute = per_ip;
  c.global_per_minute = global;
  c.health_per_minute = health;
  c.burst = burst;
  return c;
}

Decision ordinary(RateLimiter& rl, const std::string& ip, Clock::time_point now) {
  return rl.check(ip, false, now);
}

std::string ipv4(std::uint32_t n) {
  return std::to_string(n >> 24) + "." + std::to_string((n >> 16) & 255) + "." +
         std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(RateLimitConfig, OffByDefault) {
  const RateLimitConfig c;
  EXPECT_FALSE(c.enabled());
  EXPECT_EQ(c.cleanup_interval, 5min);
  EXPECT_EQ(c.max_tracked_ips, 100'000u);
  RateLimiter rl(c);
  EXPECT_FALSE(rl.enabled());
  for (int i = 0; i < 100; ++i) {
    const auto d = ordinary(rl, "1.2.3.4", t0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 0u);  // no headers due
  }
  EXPECT_TRUE(rl.check("1.2.3.4", true, t0).allowed);
  EXPECT_EQ(rl.tracked_ips(), 0u);
}

TEST(RateLimitConfig, BurstDefaultsToASixthOfTheRate) {
  RateLimitConfig c;
  EXPECT_EQ(c.burst_for(60), 10u);
  EXPECT_EQ(c.burst_for(600), 100u);
  EXPECT_EQ(c.burst_for(5), 1u);
  EXPECT_EQ(c.burst_for(1), 1u);
  c.burst = 7;
  EXPECT_EQ(c.burst_for(60), 7u);
  EXPECT_EQ(c.burst_for(1), 7u);
  c.per_ip_per_minute = 1;
  EXPECT_TRUE(c.enabled());
}

TEST(RateLimiter, BurstThenRefusal) {
  RateLimiter rl(limits(60, 5));
  for (std::uint32_t i = 0; i < 5; ++i) {
    const auto d = ordinary(rl, "192.0.2.1", t0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 60u);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.reset, std::chrono::seconds(i + 1));  // one token a second
    EXPECT_EQ(d.retry_after, 0s);
  }
  for (int i = 0; i < 3; ++i) {
    const auto d = ordinary(rl, "192.0.2.1", t0);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.limit, 60u);
    EXPECT_EQ(d.remaining, 0u);
    EXPECT_EQ(d.retry_after, 1s);
    EXPECT_EQ(d.reset, 5s);  // refusals take nothing
  }
}

TEST(RateLimiter, DefaultBurstIsUsedWhenNoneIsGiven) {
  RateLimiter rl(limits(60, 0));
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += ordinary(rl, "192.0.2.1", t0).allowed;
  EXPECT_EQ(allowed, 10);
}

TEST(RateLimiter, RefillsOverInjectedTime) {
  RateLimiter rl(limits(60, 5));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  auto d = ordinary(rl, "192.0.2.1", t0 + 999ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1s);  // 1 ms, rounded up
  d = ordinary(rl, "192.0.2.1", t0 + 1s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 5s);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1", t0 + 1s).allowed);
  d = ordinary(rl, "192.0.2.1", t0 + 3s);  // two tokens back, one taken
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 4s);
  // Long idle: full again, never more than the burst.
  d = ordinary(rl, "192.0.2.1", t0 + 1h);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4u);
  int allowed = 1;
  while (ordinary(rl, "192.0.2.1", t0 + 1h).allowed) ++allowed;
  EXPECT_EQ(allowed, 5);
}

TEST(RateLimiter, RetryAfterResetAndRemainingWithSlowRates) {
  RateLimiter rl(limits(10, 2));  // a token every 6 s
  auto d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 6s);
  d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 12s);
  d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 6s);
  EXPECT_EQ(d.reset, 12s);
  d = ordinary(rl, "192.0.2.1", t0 + 2500ms);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 4s);  // 3.5 s, rounded up
  EXPECT_EQ(d.reset, 10s);       // 9.5 s, rounded up
  d = ordinary(rl, "192.0.2.1", t0 + 6s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 12s);
  // Half a token back: floor(0.5) = 0 remaining, and not enough to pass.
  d = ordinary(rl, "192.0.2.1", t0 + 9s);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.retry_after, 3s);
}

TEST(RateLimiter, RetryAfterRoundsUpForRatesThatDoNotDivideAMinute) {
  RateLimiter rl(limits(7, 1));  // a token every 8.57 s
  ASSERT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  const auto d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 9s);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1", t0 + 8571ms).allowed);
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0 + 8572ms).allowed);
}

TEST(RateLimiter, RetryAfterIsAtLeastOneSecond) {
  RateLimiter rl(limits(6000, 1));  // a token every 10 ms
  ASSERT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  const auto d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1s);
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0 + 10ms).allowed);
}

TEST(RateLimiter, AddressesHaveTheirOwnBuckets) {
  RateLimiter rl(limits(60, 2));
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1", t0).allowed);
  auto d = ordinary(rl, "192.0.2.2", t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  // Spellings of the same address share one bucket.
  EXPECT_FALSE(ordinary(rl, "::ffff:192.0.2.1", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1:5555", t0).allowed);
  EXPECT_TRUE(ordinary(rl, "2001:db8::1", t0).allowed);
  EXPECT_TRUE(ordinary(rl, "[2001:DB8:0::1]:443", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "2001:db8::1", t0).allowed);
  EXPECT_TRUE(ordinary(rl, "2001:db8::2", t0).allowed);
  EXPECT_EQ(rl.tracked_ips(), 4u);
}

TEST(RateLimiter, UnparseableAddressesShareOneBucket) {
  RateLimiter rl(limits(60, 1));
  EXPECT_TRUE(ordinary(rl, "not-an-address", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "also garbage", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "", t0).allowed);
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
}

TEST(RateLimiter, GlobalBucketCapsAllAddressesTogether) {
  RateLimiter rl(limits(60, 0, 120));  // bursts: per address 10, global 20
  int allowed = 0;
  for (std::uint32_t i = 0; i < 100; ++i) allowed += ordinary(rl, ipv4(0x0a000000 + i), t0).allowed;
  EXPECT_EQ(allowed, 20);
  const auto d = ordinary(rl, "192.0.2.200", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 120u);  // the global bucket refused
  EXPECT_EQ(d.retry_after, 1s);
  EXPECT_TRUE(ordinary(rl, "192.0.2.200", t0 + 500ms).allowed);
}

TEST(RateLimiter, OnlyAGlobalLimitTracksNoAddresses) {
  RateLimiter rl(limits(0, 3, 60));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(ordinary(rl, ipv4(i), t0).allowed);
  const auto d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 60u);
  EXPECT_EQ(rl.tracked_ips(), 0u);
}

TEST(RateLimiter, ReportsTheTightestBucketAndRefusalsTakeNothing) {
  // Per address 12/min (burst 2, a token every 5 s); global 24/min (burst 4, every 2.5 s).
  RateLimiter rl(limits(12, 0, 24));
  auto d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_EQ(d.limit, 12u);  // address: 1 left; global: 3 left
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 5s);
  d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_EQ(d.limit, 12u);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 10s);
  d = ordinary(rl, "192.0.2.1", t0);  // refused by its own bucket: no global token taken
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 12u);
  EXPECT_EQ(d.retry_after, 5s);
  d = ordinary(rl, "192.0.2.2", t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 24u);  // both have 1 left; the global one takes longer to fill
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset, 8s);  // 7.5 s
  d = ordinary(rl, "192.0.2.3", t0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 24u);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, 10s);
  for (int i = 0; i < 5; ++i) {
    d = ordinary(rl, "192.0.2.4", t0);  // refused by the global bucket: keeps its own token
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.limit, 24u);
    EXPECT_EQ(d.retry_after, 3s);  // 2.5 s
  }
  d = ordinary(rl, "192.0.2.4", t0 + 10s);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 12u);
  EXPECT_EQ(d.remaining, 1u);
}

TEST(RateLimiter, RetryAfterWaitsForEveryBucket) {
  // Per address a token every 10 s, global every 60 s, bursts of 1.
  RateLimiter rl(limits(6, 0, 1));
  ASSERT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  const auto d = ordinary(rl, "192.0.2.1", t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 6u);
  EXPECT_EQ(d.retry_after, 60s);  // its own token in 10 s, a global one only in 60 s
}

TEST(RateLimiter, HealthRoutesHaveTheirOwnLimit) {
  RateLimitConfig c = limits(60, 0, 6, 120);  // bursts: address 10, global 1, health 20
  RateLimiter rl(c);
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "192.0.2.2", t0).allowed);  // global bucket empty
  // Health checks count neither against the address's bucket nor against the global one.
  for (std::uint32_t i = 0; i < 20; ++i) {
    const auto d = rl.check("192.0.2.2", true, t0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 120u);
    EXPECT_EQ(d.remaining, 19 - i);
  }
  const auto d = rl.check("192.0.2.2", true, t0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 120u);
  EXPECT_EQ(d.retry_after, 1s);
  EXPECT_TRUE(rl.check("192.0.2.3", true, t0).allowed);
  // ... and ordinary requests do not drain the health bucket.
  RateLimiter own(limits(60, 1, 0, 60));
  EXPECT_TRUE(ordinary(own, "192.0.2.1", t0).allowed);
  EXPECT_FALSE(ordinary(own, "192.0.2.1", t0).allowed);
  EXPECT_TRUE(own.check("192.0.2.1", true, t0).allowed);
  EXPECT_FALSE(own.check("192.0.2.1", true, t0).allowed);
  EXPECT_EQ(own.tracked_ips(), 1u);  // one entry holds both buckets
}

TEST(RateLimiter, HealthRoutesAreUnlimitedWhenTheirLimitIsOff) {
  RateLimiter rl(limits(60, 1, 60));
  EXPECT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1", t0).allowed);
  for (int i = 0; i < 100; ++i) {
    const auto d = rl.check("192.0.2.1", true, t0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 0u);
  }
}

TEST(RateLimiter, LeastRecentlySeenAddressIsEvicted) {
  RateLimitConfig c = limits(60, 3);
  c.max_tracked_ips = 3;
  RateLimiter rl(c);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  ASSERT_EQ(ordinary(rl, "192.0.2.2", t0 + 1ms).remaining, 2u);
  ASSERT_EQ(ordinary(rl, "192.0.2.3", t0 + 2ms).remaining, 2u);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1", t0 + 3ms).allowed);  // seen again: now the newest
  EXPECT_EQ(rl.tracked_ips(), 3u);
  EXPECT_TRUE(ordinary(rl, "192.0.2.4", t0 + 4ms).allowed);  // evicts .2, the least recent
  EXPECT_EQ(rl.tracked_ips(), 3u);
  EXPECT_FALSE(ordinary(rl, "192.0.2.1", t0 + 5ms).allowed);     // kept its state
  EXPECT_EQ(ordinary(rl, "192.0.2.3", t0 + 6ms).remaining, 1u);  // kept its state
  EXPECT_EQ(ordinary(rl, "192.0.2.2", t0 + 7ms).remaining, 2u);  // a fresh bucket (evicts .4)
  EXPECT_EQ(rl.tracked_ips(), 3u);
}

TEST(RateLimiter, TableStaysBoundedUnderAMillionAddresses) {
  RateLimitConfig c = limits(60, 5);
  c.max_tracked_ips = 50'000;  // sharded (64 shards)
  RateLimiter rl(c);
  std::size_t rss_when_full = 0;
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    ASSERT_TRUE(ordinary(rl, ipv4(0x0b000000 + i), t0 + std::chrono::microseconds(i)).allowed);
    if (i % 50'000 == 49'999) {
      ASSERT_LE(rl.tracked_ips(), 50'000u) << i;
      if (i == 199'999) rss_when_full = resident_bytes();
    }
  }
  EXPECT_GT(rl.tracked_ips(), 49'000u);  // shards fill unevenly, never past their share
  EXPECT_LE(rl.tracked_ips(), 50'000u);
  // Past the cap, evicted entries' memory is reused: 800k more addresses add nothing.
  EXPECT_LT(resident_bytes(), rss_when_full + (2u << 20));
  // The newest address is tracked, with its own state.
  const auto last = ipv4(0x0b000000 + 999'999);
  EXPECT_EQ(ordinary(rl, last, t0 + 1s).remaining, 3u);
}

TEST(RateLimiter, CapOfOneIsHonoured) {
  RateLimitConfig c = limits(60, 1);
  c.max_tracked_ips = 1;
  RateLimiter rl(c);
  for (std::uint32_t i = 0; i < 1000; ++i) EXPECT_TRUE(ordinary(rl, ipv4(i), t0).allowed);
  EXPECT_EQ(rl.tracked_ips(), 1u);
}

TEST(RateLimiter, CleanupDropsIdleBuckets) {
  RateLimitConfig c = limits(60, 5);
  c.cleanup_interval = 1min;
  RateLimiter rl(c);
  ordinary(rl, "192.0.2.1", t0);
  ordinary(rl, "192.0.2.2", t0);
  ordinary(rl, "192.0.2.3", t0 + 50s);
  EXPECT_EQ(rl.tracked_ips(), 3u);
  EXPECT_EQ(rl.cleanup(t0 + 59s), 0u);
  EXPECT_EQ(rl.cleanup(t0 + 61s), 2u);
  EXPECT_EQ(rl.tracked_ips(), 1u);
  EXPECT_EQ(rl.cleanup(t0 + 111s), 1u);
  EXPECT_EQ(rl.tracked_ips(), 0u);
  // A dropped address starts again with a full bucket, as it would have had anyway.
  EXPECT_EQ(ordinary(rl, "192.0.2.1", t0 + 112s).remaining, 4u);
}

TEST(RateLimiter, CleanupKeepsIdleBucketsThatAreNotFullYet) {
  RateLimitConfig c = limits(1, 5);  // a token a minute: full 5 minutes after emptying
  c.cleanup_interval = 1min;
  RateLimiter rl(c);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ordinary(rl, "192.0.2.1", t0).allowed);
  EXPECT_EQ(rl.cleanup(t0 + 2min), 0u);  // dropping it would hand back 3 unearned tokens
  EXPECT_EQ(rl.tracked_ips(), 1u);
  EXPECT_EQ(rl.cleanup(t0 + 5min), 1u);
  EXPECT_EQ(rl.tracked_ips(), 0u);
}

TEST(RateLimiter, CheckSweepsIdleBucketsWithoutACleanupCall) {
  RateLimitConfig c = limits(60, 5);
  c.cleanup_interval = 1min;
  c.max_tracked_ips = 100;  // one shard
  RateLimiter rl(c);
  for (std::uint32_t i = 0; i < 50; ++i) ordinary(rl, ipv4(i), t0);
  EXPECT_EQ(rl.tracked_ips(), 50u);
  ordinary(rl, "192.0.2.1", t0 + 2min);
  EXPECT_EQ(rl.tracked_ips(), 1u);
}

// Frozen clocks make the count exact: every thread races for the same tokens.
std::uint64_t hammer(RateLimiter& rl, Clock::time_point now, std::uint32_t addresses) {
  std::atomic<std::uint64_t> allowed{0};
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::uint64_t mine = 0;
      for (std::uint32_t i = 0; i < 50'000; ++i) {
        mine += rl.check(ipv4(0x0a000000 + (i * 7 + t) % addresses), false, now).allowed;
      }
      allowed += mine;
    });
  }
  for (auto& th : threads) th.join();
  return allowed;
}

TEST(RateLimiter, ThreadsNeverOverspendTheGlobalBucket) {
  // Global 600/min (10 a second), burst 500; per address 60/min, burst 500 (64 x 500 > 500).
  RateLimiter rl(limits(60, 500, 600));
  EXPECT_EQ(hammer(rl, t0, 64), 500u);
  EXPECT_EQ(hammer(rl, t0 + 10s, 64), 100u);  // exactly what 10 s refilled
  EXPECT_EQ(hammer(rl, t0 + 10s, 64), 0u);
}

TEST(RateLimiter, ThreadsNeverOverspendPerAddressBuckets) {
  RateLimitConfig c = limits(60, 10);
  c.max_tracked_ips = 20'000;  // sharded
  RateLimiter rl(c);
  EXPECT_EQ(hammer(rl, t0, 1000), 10'000u);
  EXPECT_EQ(hammer(rl, t0 + 3s, 1000), 3'000u);
  EXPECT_EQ(rl.tracked_ips(), 1000u);
}

// client_ip: trusted proxies 10.0.0.0/8, 127.0.0.1 and 2001:db8:aaaa::/48.
class ClientIp : public ::testing::Test {
 protected:
  static RateLimitConfig trusting() {
    RateLimitConfig c;
    c.trusted_proxy_cidrs = {"10.0.0.0/8", "127.0.0.1", "2001:db8:aaaa::/48"};
    return c;
  }
  RateLimiter rl_{trusting()};
};

TEST_F(ClientIp, UntrustedPeerIsTheClientWhateverItsHeaderSays) {
  EXPECT_EQ(rl_.client_ip("203.0.113.9", ""), "203.0.113.9");
  EXPECT_EQ(rl_.client_ip("203.0.113.9", "198.51.100.1"), "203.0.113.9");
  EXPECT_EQ(rl_.client_ip("203.0.113.9", "10.0.0.1, 198.51.100.1"), "203.0.113.9");
  EXPECT_EQ(rl_.client_ip("2001:db8:bbbb::1", "198.51.100.1"), "2001:db8:bbbb::1");
  EXPECT_EQ(rl_.client_ip("127.0.0.2", "198.51.100.1"), "127.0.0.2");  // /32 only
}

TEST_F(ClientIp, TrustedPeerWithoutHeaderIsTheClient) {
  EXPECT_EQ(rl_.client_ip("10.1.2.3", ""), "10.1.2.3");
  EXPECT_EQ(rl_.client_ip("10.1.2.3", " , ,"), "10.1.2.3");
  EXPECT_EQ(rl_.client_ip("10.1.2.3", "garbage, unknown"), "10.1.2.3");
}

TEST_F(ClientIp, RightmostUntrustedEntryWins) {
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, 10.0.0.2"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1,10.0.0.2,127.0.0.1"), "198.51.100.1");
  // The client sent its own X-Forwarded-For; the proxy appended the real address.
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "6.6.6.6, 198.51.100.1"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "6.6.6.6, 198.51.100.1, 10.9.9.9"), "198.51.100.1");
  // A spoofed trusted address on the left does not help either.
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "10.0.0.5, 198.51.100.1"), "198.51.100.1");
}

TEST_F(ClientIp, AllTrustedMeansTheLeftmost) {
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "10.0.0.3, junk, 10.0.0.2"), "10.0.0.3");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "junk, 10.0.0.3"), "10.0.0.3");
}

TEST_F(ClientIp, GarbageAndBlankEntriesAreSkipped) {
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, garbage"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, , \t,"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, unknown"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, 203.0.113.0/24"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, 1.2.3.4:port"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, [2001:db8::1"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "198.51.100.1, 256.1.1.1"), "198.51.100.1");
}

TEST_F(ClientIp, PortsAndBracketsAreRemoved) {
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "1.2.3.4:5678"), "1.2.3.4");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "[2001:db8::1]"), "2001:db8::1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "1.2.3.4:5678, 10.0.0.2:80"), "1.2.3.4");
  EXPECT_EQ(rl_.client_ip("10.0.0.1:40000", "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(rl_.client_ip("[::ffff:10.0.0.1]:40000", "1.2.3.4"), "1.2.3.4");
}

TEST_F(ClientIp, Ipv6) {
  EXPECT_EQ(rl_.client_ip("2001:db8:aaaa::10", "2001:db8:cccc::5"), "2001:db8:cccc::5");
  EXPECT_EQ(rl_.client_ip("2001:db8:aaaa::10", "2001:DB8:CCCC:0:0::5, 2001:db8:aaaa::11"),
            "2001:db8:cccc::5");
  EXPECT_EQ(rl_.client_ip("2001:db8:aaaa::10", "198.51.100.1"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("10.0.0.1", "2001:db8:cccc::5"), "2001:db8:cccc::5");
  // IPv4-mapped peers and entries are IPv4.
  EXPECT_EQ(rl_.client_ip("::ffff:10.0.0.1", "::ffff:198.51.100.1"), "198.51.100.1");
  EXPECT_EQ(rl_.client_ip("::ffff:203.0.113.9", "198.51.100.1"), "203.0.113.9");
  EXPECT_EQ(rl_.client_ip("::1", "198.51.100.1"), "::1");  // ::1 is not in the list
  EXPECT_EQ(rl_.client_ip("fe80::1%eth0", ""), "fe80::1");
}

TEST_F(ClientIp, UnparseablePeerComesBackUnchanged) {
  EXPECT_EQ(rl_.client_ip("not-an-ip", "198.51.100.1"), "not-an-ip");
  EXPECT_EQ(rl_.client_ip("", "198.51.100.1"), "");
}

TEST(ClientIpWithoutTrustedProxies, HeaderIsNeverBelieved) {
  RateLimiter rl(RateLimitConfig{});
  EXPECT_EQ(rl.client_ip("127.0.0.1", "198.51.100.1"), "127.0.0.1");
  EXPECT_EQ(rl.client_ip("::1", "198.51.100.1"), "::1");
  EXPECT_EQ(rl.client_ip("10.0.0.1", "198.51.100.1"), "10.0.0.1");
}

TEST(ClientIpWithoutTrustedProxies, BadCidrIsRefused) {
  RateLimitConfig c;
  c.trusted_proxy_cidrs = {"10.0.0.0/8", "10.0.0.0/33"};
  EXPECT_THROW(RateLimiter{c}, std::invalid_argument);
  c.trusted_proxy_cidrs = {"proxy.local"};
  EXPECT_THROW(RateLimiter{c}, std::invalid_argument);
}

}  // namespace
}  // namespace olla::limits
