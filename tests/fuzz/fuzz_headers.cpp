// Header rewriting: connection_tokens, is_hop_by_hop, iequals, append_forwarded_for,
// is_header_safe, format_response_time, the CORS headers, and RateLimiter::client_ip (trusted
// proxies and X-Forwarded-For) followed by RateLimiter::check on the address it chose.
// Input, one field a line: Connection value, header name, X-Forwarded-For, peer address, Origin,
// Access-Control-Request-Headers, and a value for is_header_safe (the rest of the input).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_common.hpp"
#include "olla/limits/rate_limiter.hpp"
#include "olla/observe/access_policy.hpp"
#include "olla/proxy/cors.hpp"
#include "olla/proxy/header_rules.hpp"

using namespace olla;

namespace {

struct Fixtures {
  std::unique_ptr<limits::RateLimiter> some_trusted, all_trusted, none_trusted;
  proxy::Cors cors_off{proxy::CorsConfig{}};
  proxy::Cors cors_any{proxy::CorsConfig{true, {"*"}, false, 600}};
  proxy::Cors cors_list{proxy::CorsConfig{true, {"https://app.example", "null"}, true, 0}};
  proxy::Cors cors_any_credentials{proxy::CorsConfig{true, {"*"}, true, 86400}};

  Fixtures() {
    limits::RateLimitConfig c;
    c.global_per_minute = 600;
    c.per_ip_per_minute = 60;
    c.health_per_minute = 30;
    c.max_tracked_ips = 512;  // the table stays small however many addresses the fuzzer makes up
    c.trusted_proxy_cidrs = {"10.0.0.0/8", "127.0.0.0/8", "::1", "fd00::/8",
                             "::ffff:192.0.2.0/120"};
    some_trusted = std::make_unique<limits::RateLimiter>(c);
    c.trusted_proxy_cidrs = {"0.0.0.0/0", "::/0"};
    all_trusted = std::make_unique<limits::RateLimiter>(c);
    c.trusted_proxy_cidrs.clear();
    none_trusted = std::make_unique<limits::RateLimiter>(c);
  }
};

Fixtures& fixtures() {
  static Fixtures f;
  return f;
}

bool visible(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_address(std::string_view s) {
  observe::AccessPolicy::Network n;
  return !s.empty() && s.find('/') == std::string_view::npos &&
         observe::AccessPolicy::parse_network(s, n).empty();
}

void check_client_ip(limits::RateLimiter& rl, std::string_view peer, std::string_view xff) {
  const std::string ip = rl.client_ip(peer, xff);
  if (!is_address(ip)) {
    FUZZ_CHECK(ip == peer);  // only an unparseable peer comes back as it was
  } else {
    // Canonical: asking again with the answer as the peer and no header gives the same text.
    FUZZ_CHECK(fixtures().none_trusted->client_ip(ip, "") == ip);
  }
  const auto d = rl.check(ip, ip.size() % 2 == 0, limits::RateLimiter::Clock::now());
  if (!d.allowed) FUZZ_CHECK(d.retry_after.count() >= 1);
}

void check_cors(const proxy::Cors& cors, std::string_view origin, std::string_view req_headers,
                bool wildcard) {
  const auto plain = cors.response_headers(origin);
  const auto pre = cors.preflight_headers(origin, req_headers);
  if (!cors.enabled() || origin.empty()) FUZZ_CHECK(plain.empty() && pre.empty());
  FUZZ_CHECK(plain.empty() == pre.empty());
  for (const auto* list : {&plain, &pre}) {
    for (const auto& [name, value] : *list) {
      FUZZ_CHECK(visible(name) && visible(value));  // nothing a client sent can split a header
      if (name == "Access-Control-Allow-Origin") FUZZ_CHECK(value == (wildcard ? "*" : origin));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = olla::fuzz::lines(olla::fuzz::as_view(data, size), 7);
  const auto field = [&](std::size_t i) { return i < f.size() ? f[i] : std::string_view{}; };
  const auto connection = field(0), name = field(1), xff = field(2), peer = field(3),
             origin = field(4), req_headers = field(5), value = field(6);

  std::string lower(connection);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto tokens = olla::fuzz::connection_tokens(connection);
  for (const auto& token : tokens) {
    FUZZ_CHECK(!token.empty() && token.find(',') == std::string::npos);
    FUZZ_CHECK(token.front() != ' ' && token.front() != '\t');
    FUZZ_CHECK(token.back() != ' ' && token.back() != '\t');
    FUZZ_CHECK(lower.find(token) != std::string::npos);  // taken from the value, lower-cased
    FUZZ_CHECK(proxy::connection_lists(connection, token));
    FUZZ_CHECK(proxy::connection_lists(connection, upper(token)));
  }
  // A name is listed exactly when it is one of the tokens (case aside).
  FUZZ_CHECK(proxy::connection_lists(connection, name) ==
             std::any_of(tokens.begin(), tokens.end(),
                         [&](const std::string& t) { return proxy::iequals(t, name); }));

  FUZZ_CHECK(proxy::is_hop_by_hop(name) == proxy::is_hop_by_hop(upper(name)));
  FUZZ_CHECK(proxy::iequals(name, upper(name)));
  FUZZ_CHECK(proxy::iequals(name, value) == proxy::iequals(value, name));

  const std::string appended = proxy::append_forwarded_for(xff, peer);
  FUZZ_CHECK(appended ==
             (xff.empty() ? std::string(peer) : std::string(xff) + ", " + std::string(peer)));

  FUZZ_CHECK(proxy::is_header_safe(value) == (value.size() <= 256 && visible(value)));

  if (size >= 8) {
    std::uint64_t raw;
    std::memcpy(&raw, data, sizeof raw);
    const std::string t = proxy::format_response_time(std::chrono::nanoseconds(raw >> 1));
    FUZZ_CHECK(t.size() >= 6 && t.back() == 's' && t[t.size() - 5] == '.');
  }

  auto& fx = fixtures();
  check_client_ip(*fx.some_trusted, peer, xff);
  check_client_ip(*fx.all_trusted, peer, xff);
  check_client_ip(*fx.none_trusted, peer, xff);
  // Nobody trusted: X-Forwarded-For is never believed.
  FUZZ_CHECK(fx.none_trusted->client_ip(peer, xff) == fx.none_trusted->client_ip(peer, ""));
  check_client_ip(*fx.some_trusted, xff, peer);  // the header as the peer, and the other way

  check_cors(fx.cors_off, origin, req_headers, false);
  check_cors(fx.cors_any, origin, req_headers, true);
  check_cors(fx.cors_list, origin, req_headers, false);
  check_cors(fx.cors_any_credentials, origin, req_headers, false);
  return 0;
}
