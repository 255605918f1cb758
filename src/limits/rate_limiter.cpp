#include "olla/limits/rate_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace olla::limits {
namespace {

using Network = observe::AccessPolicy::Network;

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kNsPerMinute = 60 * kNsPerSecond;
// A bucket nobody has used is full: its "full again at" time lies before any clock reading.
constexpr std::int64_t kFull = std::numeric_limits<std::int64_t>::min();
// Tables smaller than this per shard use one shard: little contention to save, and exact LRU.
constexpr std::size_t kMaxShards = 64;
constexpr std::size_t kMinPerShard = 256;

std::int64_t to_ns(RateLimiter::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::chrono::seconds ceil_seconds(std::int64_t ns) {
  return std::chrono::seconds(ns <= 0 ? 0 : (ns - 1) / kNsPerSecond + 1);
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// One client address, or every address that did not parse (unknown).
struct Key {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t kind = 0;  // 0 IPv6, 1 IPv4, 2 unknown
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::uint64_t seed = 0;
  std::size_t operator()(const Key& k) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, k.bytes.data(), 8);
    std::memcpy(&b, k.bytes.data() + 8, 8);
    return mix(mix(mix(a ^ seed) ^ b) ^ k.kind);
  }
};

struct Entry;
using Slot = std::pair<const Key, Entry>;

struct Entry {
  std::int64_t tat = kFull;         // ordinary routes: when the bucket is full again (ns)
  std::int64_t health_tat = kFull;  // health routes
  std::int64_t last_seen = 0;
  Slot* newer = nullptr;  // least-recently-seen list, newest first
  Slot* older = nullptr;
};

// "a.b.c.d", "x::y", "[x::y]", "::ffff:a.b.c.d", "fe80::1%eth0"; no prefix length.
bool parse_host(std::string_view text, Network& out) {
  if (text.empty() || text.find('/') != std::string_view::npos) return false;
  return observe::AccessPolicy::parse_network(text, out).empty();
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One X-Forwarded-For entry without blanks, port or brackets; "" when it is malformed.
std::string_view host_part(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return {};
    const auto rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) return {};
    return s.substr(1, close - 1);
  }
  // One colon: IPv4 with a port. IPv6 without brackets has at least two and no port.
  if (const auto colon = s.find(':');
      colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
    if (!all_digits(s.substr(colon + 1))) return {};
    return s.substr(0, colon);
  }
  return s;
}

std::string to_text(const Network& n) {
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(n.v4 ? AF_INET : AF_INET6, n.bytes.data(), buf, sizeof buf)) return {};
  return buf;
}

Key key_of(std::string_view client_ip) {
  Key k;
  Network n;
  if (!parse_host(host_part(client_ip), n)) {
    k.kind = 2;
    return k;
  }
  k.bytes = n.bytes;
  k.kind = n.v4 ? 1 : 0;
  return k;
}

}  // namespace

struct alignas(64) RateLimiter::Shard {
  std::mutex mutex;
  std::unordered_map<Key, Entry, KeyHash> map;
  Slot* newest = nullptr;
  Slot* oldest = nullptr;
  std::size_t capacity = 0;
  std::int64_t next_sweep = kFull;

  void unlink(Slot* s) {
    auto& e = s->second;
    (e.newer ? e.newer->second.older : newest) = e.older;
    (e.older ? e.older->second.newer : oldest) = e.newer;
    e.newer = e.older = nullptr;
  }

  void push_front(Slot* s) {
    s->second.older = newest;
    s->second.newer = nullptr;
    (newest ? newest->second.newer : oldest) = s;
    newest = s;
  }

  // The address's entry, seen now. When the shard is full the least recently seen entry's node is
  // reused for it, so a full table allocates nothing, however many addresses pass through.
  Entry& touch(const Key& key, std::int64_t now) {
    Slot* slot;
    if (const auto it = map.find(key); it != map.end()) {
      slot = &*it;
      unlink(slot);
      push_front(slot);
      slot->second.last_seen = std::max(slot->second.last_seen, now);
      return slot->second;
    } else if (map.size() >= capacity && oldest) {
      Slot* victim = oldest;
      unlink(victim);
      auto node = map.extract(victim->first);
      node.key() = key;
      node.mapped() = Entry{};
      slot = &*map.insert(std::move(node)).position;
    } else {
      slot = &*map.emplace(key, Entry{}).first;
    }
    push_front(slot);
    slot->second.last_seen = now;
    return slot->second;
  }

  // Drops entries idle for `idle` whose buckets are full again; oldest first, stopping at the
  // first entry seen since.
  std::size_t sweep(std::int64_t now, std::int64_t idle) {
    std::size_t dropped = 0;
    for (Slot* s = oldest; s && now - s->second.last_seen >= idle;) {
      Slot* next = s->second.newer;
      if (s->second.tat <= now && s->second.health_tat <= now) {
        unlink(s);
        map.erase(s->first);
        ++dropped;
      }
      s = next;
    }
    return dropped;
  }
};

RateLimiter::RateLimiter(RateLimitConfig config)
    : config_(std::move(config)),
      global_(make_limit(config_.global_per_minute, config_.burst_for(config_.global_per_minute))),
      per_ip_(make_limit(config_.per_ip_per_minute, config_.burst_for(config_.per_ip_per_minute))),
      health_(make_limit(config_.health_per_minute, config_.burst_for(config_.health_per_minute))),
      cleanup_ns_(std::max<std::int64_t>(
          1,
          std::chrono::duration_cast<std::chrono::nanoseconds>(config_.cleanup_interval).count())),
      seed_(std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32)),
      global_tat_(kFull) {
  if (!config_.trusted_proxy_cidrs.empty()) {
    // AccessPolicy reads an empty list as "loopback only"; here empty means nobody is trusted.
    auto parsed = observe::AccessPolicy::parse(config_.trusted_proxy_cidrs);
    if (const auto* error = std::get_if<std::string>(&parsed))
      throw std::invalid_argument("trusted_proxy_cidrs: " + *error);
    trusted_ = std::get<observe::AccessPolicy>(parsed).networks();
  }
  const std::size_t max_ips = std::max<std::size_t>(1, config_.max_tracked_ips);
  shard_count_ = std::clamp<std::size_t>(max_ips / kMinPerShard, 1, kMaxShards);
  shards_ = std::make_unique<Shard[]>(shard_count_);
  for (std::size_t i = 0; i < shard_count_; ++i) {
    // The capacities add up to max_tracked_ips exactly.
    shards_[i].capacity = max_ips / shard_count_ + (i < max_ips % shard_count_ ? 1 : 0);
    shards_[i].map = std::unordered_map<Key, Entry, KeyHash>(0, KeyHash{seed_});
  }
}

RateLimiter::~RateLimiter() = default;

RateLimiter::Limit RateLimiter::make_limit(std::uint32_t per_minute, std::uint32_t burst) {
  Limit l;
  if (per_minute == 0) return l;
  l.per_minute = per_minute;
  l.burst = std::max<std::uint32_t>(1, burst);
  // Rounded to the nanosecond: the rate is off by less than 1e-6 for any rate below 100k/min.
  l.interval = std::max<std::int64_t>(1, (kNsPerMinute + per_minute / 2) / per_minute);
  // Capped so that "now + debt" cannot overflow, whatever the burst.
  constexpr std::int64_t kMaxTolerance = std::numeric_limits<std::int64_t>::max() / 4;
  const std::int64_t extra = l.burst - 1;
  l.tolerance = extra > kMaxTolerance / l.interval ? kMaxTolerance : extra * l.interval;
  return l;
}

// debt: how long the bucket needs to be full again. Tokens = burst - debt / interval.
RateLimiter::Decision RateLimiter::allowed_by(const Limit& l, std::int64_t debt_after) {
  Decision d;
  d.limit = l.per_minute;
  const std::int64_t owed = (debt_after + l.interval - 1) / l.interval;  // ceil
  d.remaining = owed >= l.burst ? 0 : static_cast<std::uint32_t>(l.burst - owed);
  d.reset = ceil_seconds(debt_after);
  return d;
}

RateLimiter::Decision RateLimiter::refused_by(const Limit& l, std::int64_t debt_before) {
  Decision d;
  d.allowed = false;
  d.limit = l.per_minute;
  d.remaining = 0;
  d.reset = ceil_seconds(debt_before);
  d.retry_after = std::max(std::chrono::seconds(1), ceil_seconds(debt_before - l.tolerance));
  return d;
}

// GCRA on one atomic: the bucket passes while its debt is within the tolerance.
bool RateLimiter::take_global(std::int64_t now, std::int64_t& debt) {
  std::int64_t tat = global_tat_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t base = std::max(tat, now);
    debt = base - now;
    if (debt > global_.tolerance) return false;
    if (global_tat_.compare_exchange_weak(tat, base + global_.interval,
                                          std::memory_order_relaxed)) {
      debt += global_.interval;
      return true;
    }
  }
}

std::int64_t RateLimiter::global_debt(std::int64_t now) const {
  return std::max(global_tat_.load(std::memory_order_relaxed), now) - now;
}

RateLimiter::Shard& RateLimiter::shard_for(std::uint64_t hash) const {
  return shards_[(hash >> 32) % shard_count_];
}

RateLimiter::Decision RateLimiter::check(std::string_view client_ip, bool health_route,
                                         Clock::time_point when) {
  const std::int64_t now = to_ns(when);
  const bool global_on = !health_route && global_.per_minute > 0;
  const Limit& own = health_route ? health_ : per_ip_;
  if (own.per_minute == 0) {
    if (!global_on) return {};
    std::int64_t debt;
    return take_global(now, debt) ? allowed_by(global_, debt) : refused_by(global_, debt);
  }

  const Key key = key_of(client_ip);
  Shard& shard = shard_for(KeyHash{seed_}(key));
  std::lock_guard lock(shard.mutex);
  if (shard.next_sweep == kFull) shard.next_sweep = now + cleanup_ns_;
  if (now >= shard.next_sweep) {
    shard.sweep(now, cleanup_ns_);
    shard.next_sweep = now + cleanup_ns_;
  }
  Entry& entry = shard.touch(key, now);
  std::int64_t& tat = health_route ? entry.health_tat : entry.tat;
  const std::int64_t debt = std::max(tat, now) - now;
  if (debt > own.tolerance) {
    Decision d = refused_by(own, debt);
    if (global_on) {
      // A retry must also find a global token.
      const std::int64_t g = global_debt(now);
      if (g > global_.tolerance)
        d.retry_after = std::max(d.retry_after, refused_by(global_, g).retry_after);
    }
    return d;
  }
  Decision d = allowed_by(own, debt + own.interval);
  if (global_on) {
    std::int64_t g;
    if (!take_global(now, g)) return refused_by(global_, g);  // the address keeps its token
    const Decision gd = allowed_by(global_, g);
    if (gd.remaining < d.remaining || (gd.remaining == d.remaining && gd.reset > d.reset)) d = gd;
  }
  tat = now + debt + own.interval;
  return d;
}

bool RateLimiter::trusted(const Network& address) const {
  return std::any_of(trusted_.begin(), trusted_.end(),
                     [&](const Network& n) { return n.contains(address); });
}

std::string RateLimiter::client_ip(std::string_view peer_ip,
                                   std::string_view x_forwarded_for) const {
  Network peer;
  if (!parse_host(host_part(peer_ip), peer)) return std::string(peer_ip);
  if (x_forwarded_for.empty() || !trusted(peer)) return to_text(peer);
  // Right to left: each trusted proxy appended the address it saw; the first one that is not a
  // trusted proxy is the client. Entries left of it are whatever the client chose to send.
  std::string leftmost;
  std::string_view rest = x_forwarded_for;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const auto item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    Network n;
    if (!parse_host(host_part(item), n)) continue;
    if (!trusted(n)) return to_text(n);
    leftmost = to_text(n);
  }
  return leftmost.empty() ? to_text(peer) : leftmost;
}

std::size_t RateLimiter::cleanup(Clock::time_point when) {
  const std::int64_t now = to_ns(when);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    dropped += shards_[i].sweep(now, cleanup_ns_);
  }
  return dropped;
}

std::size_t RateLimiter::tracked_ips() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    n += shards_[i].map.size();
  }
  return n;
}

}  // namespace olla::limits
