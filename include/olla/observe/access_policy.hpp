#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace olla::observe {

// Who may read /internal/*: the TCP peer address must fall in one of the allowed networks
// (loopback only by default), then, when a token is configured, `Authorization: Bearer <token>`
// must carry it. X-Forwarded-For is never consulted: the caller passes the socket's peer.
class AccessPolicy {
 public:
  enum class Decision { allowed, forbidden, unauthorized };

  // One network. IPv4 networks are kept as IPv4 (also when written as ::ffff:a.b.c.d/96+n), so
  // they match IPv4 peers and IPv4-mapped IPv6 peers alike; IPv6 networks match IPv6 peers only.
  struct Network {
    bool v4 = false;
    std::array<std::uint8_t, 16> bytes{};  // the first 4 for IPv4
    int prefix = 0;
    bool contains(const Network& address) const;  // address: a host (prefix 32 or 128)
  };

  // Loopback only (127.0.0.0/8, ::1), no token.
  AccessPolicy();

  // An empty list means loopback only. Returns the policy, or an error naming the bad entry
  // (e.g. "entry 2 '10.0.0.1/33': prefix length must be 0-32") for config validation.
  static std::variant<AccessPolicy, std::string> parse(const std::vector<std::string>& cidrs,
                                                       std::string bearer_token = {});

  // "a.b.c.d[/n]" or "x::y[/n]" (a bare address is /32 or /128). "" on success, else why not.
  static std::string parse_network(std::string_view text, Network& out);

  // peer_ip: the socket's remote address as text (IPv4, IPv6, IPv4-mapped IPv6, optionally with
  // brackets or a %zone). authorization_header: the request's Authorization value, "" if none.
  // forbidden -> answer 403; unauthorized -> 401 with `WWW-Authenticate: Bearer`.
  Decision check(std::string_view peer_ip, std::string_view authorization_header) const;

  bool allows_address(std::string_view peer_ip) const;
  bool requires_token() const { return !token_.empty(); }
  const std::vector<Network>& networks() const { return networks_; }

 private:
  std::vector<Network> networks_;
  std::string token_;
};

// HTTP status for a decision: 200, 403 or 401.
int http_status(AccessPolicy::Decision d);

// Equality that takes the same time wherever the first difference is (it depends only on the
// length of `given`), so a token cannot be guessed byte by byte from response times.
bool constant_time_equal(std::string_view given, std::string_view secret);

}  // namespace olla::observe
