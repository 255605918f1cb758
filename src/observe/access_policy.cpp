#include "olla/observe/access_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace olla::observe {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// An address (no prefix) as a host network; IPv4-mapped IPv6 becomes IPv4.
bool parse_address(std::string_view text, AccessPolicy::Network& out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (const auto zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  if (text.empty() || text.size() > 45) return false;  // INET6_ADDRSTRLEN - 1
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  out = {};
  if (::inet_pton(AF_INET, buf, out.bytes.data()) == 1) {
    out.v4 = true;
    out.prefix = 32;
    return true;
  }
  if (::inet_pton(AF_INET6, buf, out.bytes.data()) != 1) return false;
  out.prefix = 128;
  if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), out.bytes.begin())) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    std::fill(out.bytes.begin() + 4, out.bytes.end(), 0);
    out.v4 = true;
    out.prefix = 32;
  }
  return true;
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

bool AccessPolicy::Network::contains(const Network& address) const {
  return v4 == address.v4 && prefix_equal(bytes, address.bytes, prefix);
}

AccessPolicy::AccessPolicy() {
  Network n;
  parse_network("127.0.0.0/8", n);
  networks_.push_back(n);
  parse_network("::1/128", n);
  networks_.push_back(n);
}

std::string AccessPolicy::parse_network(std::string_view text, Network& out) {
  const auto slash = text.find('/');
  const auto address = text.substr(0, slash);
  Network n;
  if (!parse_address(address, n)) return "not an IPv4 or IPv6 address";
  const bool mapped = n.v4 && address.find(':') != std::string_view::npos;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    int prefix = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    const int max = n.v4 && !mapped ? 32 : 128;
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > max) {
      return "prefix length must be 0-" + std::to_string(max);
    }
    if (mapped) {
      // ::ffff:a.b.c.d/n: an IPv4 network when n covers the mapping prefix.
      if (prefix < 96) return "an IPv4-mapped network needs a prefix length of 96-128";
      prefix -= 96;
    }
    n.prefix = prefix;
  }
  // Host bits set ("10.0.0.1/8") are allowed and ignored, as most ACL syntaxes do.
  out = n;
  return {};
}

std::variant<AccessPolicy, std::string> AccessPolicy::parse(const std::vector<std::string>& cidrs,
                                                            std::string bearer_token) {
  AccessPolicy policy;
  if (!cidrs.empty()) policy.networks_.clear();
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    Network n;
    if (auto error = parse_network(cidrs[i], n); !error.empty())
      return "entry " + std::to_string(i) + " '" + cidrs[i] + "': " + error;
    policy.networks_.push_back(n);
  }
  policy.token_ = std::move(bearer_token);
  return policy;
}

bool AccessPolicy::allows_address(std::string_view peer_ip) const {
  Network address;
  if (!parse_address(peer_ip, address)) return false;
  return std::any_of(networks_.begin(), networks_.end(),
                     [&](const Network& n) { return n.contains(address); });
}

AccessPolicy::Decision AccessPolicy::check(std::string_view peer_ip,
                                           std::string_view authorization_header) const {
  if (!allows_address(peer_ip)) return Decision::forbidden;
  if (token_.empty()) return Decision::allowed;
  auto value = authorization_header;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || !iequals(value.substr(0, kScheme.size()), kScheme) ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return Decision::unauthorized;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return constant_time_equal(value, token_) ? Decision::allowed : Decision::unauthorized;
}

int http_status(AccessPolicy::Decision d) {
  switch (d) {
    case AccessPolicy::Decision::allowed:
      return 200;
    case AccessPolicy::Decision::forbidden:
      return 403;
    case AccessPolicy::Decision::unauthorized:
      return 401;
  }
  return 403;
}

bool constant_time_equal(std::string_view given, std::string_view secret) {
  if (secret.empty()) return given.empty();
  // Every byte of `given` is compared (against the secret, cycled), and the length difference is
  // folded in, so the loop never stops early.
  unsigned diff = given.size() == secret.size() ? 0u : 1u;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(secret[i % secret.size()]);
  }
  // Keep the compiler from turning the loop into an early-exit comparison.
  asm volatile("" : "+r"(diff));
  return diff == 0;
}

}  // namespace olla::observe
