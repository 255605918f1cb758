#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "olla/limits/rate_limit_config.hpp"
#include "olla/observe/access_policy.hpp"

namespace olla::limits {

// Token buckets for server.rate_limits: one global bucket shared by every client, and per client
// address one bucket for ordinary routes and one for the health routes. A bucket holds up to
// `burst` tokens and gains per_minute / 60 a second; a request takes one. Health routes count only
// against their own per-address bucket, never the global one, so load cannot fail a liveness probe.
//
// Thread-safe: every worker thread calls check(). The global bucket is one atomic (GCRA: the
// time at which the bucket will be full again, advanced with compare-and-swap); the per-address
// table is split into shards, each with its own mutex, map and least-recently-seen list, and holds
// at most max_tracked_ips addresses, evicting the least recently seen of a shard when that shard
// is full. A refused request takes no token from any bucket.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = true;
    // Per-minute rate of the bucket reported (the tightest one that applied); 0 = no limit
    // applied, so no X-RateLimit-* headers are due.
    std::uint32_t limit = 0;
    std::uint32_t remaining = 0;          // whole tokens left in that bucket after this request
    std::chrono::seconds reset{0};        // until that bucket is full again (rounded up)
    std::chrono::seconds retry_after{0};  // refused only: until a retry can pass (rounded up, >= 1)
  };

  // Throws std::invalid_argument when a trusted_proxy_cidrs entry does not parse (config
  // validation catches that first, naming the key).
  explicit RateLimiter(RateLimitConfig config);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // client_ip: the address client_ip() chose. health_route: /internal/health or
  // /olla/litellm/health. Takes a token when allowed. An address that does not parse shares one
  // bucket with every other such address.
  Decision check(std::string_view client_ip, bool health_route, Clock::time_point now);

  // The address to limit: the peer itself, unless the peer is in trusted_proxy_cidrs and
  // X-Forwarded-For is present; then the rightmost X-Forwarded-For entry that is not a trusted
  // proxy (the leftmost entry if all are trusted). Blank and unparseable entries are skipped;
  // ports and brackets are removed ("1.2.3.4:5678", "[2001:db8::1]:443"). Addresses come back in
  // canonical form (IPv4-mapped IPv6 as IPv4); a peer that does not parse comes back unchanged.
  // Several X-Forwarded-For header lines must be joined with "," first.
  std::string client_ip(std::string_view peer_ip, std::string_view x_forwarded_for) const;

  // Drops per-address buckets unused for cleanup_interval that are full again (dropping them loses
  // nothing). check() also does this for the shard it touches once per cleanup_interval, so
  // calling this is optional. Returns how many addresses were dropped.
  std::size_t cleanup(Clock::time_point now);

  std::size_t tracked_ips() const;  // addresses in the per-address table
  const RateLimitConfig& config() const { return config_; }
  bool enabled() const { return config_.enabled(); }

 private:
  struct Limit {
    std::uint32_t per_minute = 0;  // 0 = off
    std::uint32_t burst = 0;
    std::int64_t interval = 0;   // ns per token
    std::int64_t tolerance = 0;  // (burst - 1) * interval: how far a bucket's debt may go and pass
  };
  struct Shard;

  static Limit make_limit(std::uint32_t per_minute, std::uint32_t burst);
  static Decision allowed_by(const Limit& l, std::int64_t debt_after);
  static Decision refused_by(const Limit& l, std::int64_t debt_before);
  bool take_global(std::int64_t now, std::int64_t& debt);
  std::int64_t global_debt(std::int64_t now) const;
  Shard& shard_for(std::uint64_t hash) const;
  bool trusted(const observe::AccessPolicy::Network& address) const;

  RateLimitConfig config_;
  Limit global_;
  Limit per_ip_;
  Limit health_;
  std::int64_t cleanup_ns_;
  std::vector<observe::AccessPolicy::Network> trusted_;
  std::uint64_t seed_;  // per process, so clients cannot aim many addresses at one hash chain
  std::atomic<std::int64_t> global_tat_;
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace olla::limits
