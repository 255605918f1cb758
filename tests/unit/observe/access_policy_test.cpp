#include "olla/observe/access_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace olla::observe {
namespace {

using Decision = AccessPolicy::Decision;

AccessPolicy make(const std::vector<std::string>& cidrs, std::string token = {}) {
  auto r = AccessPolicy::parse(cidrs, std::move(token));
  if (auto* error = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << *error;
    return AccessPolicy();
  }
  return std::get<AccessPolicy>(std::move(r));
}

std::string error_of(const std::vector<std::string>& cidrs) {
  auto r = AccessPolicy::parse(cidrs);
  if (auto* error = std::get_if<std::string>(&r)) return *error;
  ADD_FAILURE() << "expected an error";
  return {};
}

TEST(AccessPolicy, DefaultIsLoopbackOnly) {
  const AccessPolicy p;
  EXPECT_EQ(p.check("127.0.0.1", ""), Decision::allowed);
  EXPECT_EQ(p.check("127.255.3.4", ""), Decision::allowed);
  EXPECT_EQ(p.check("::1", ""), Decision::allowed);
  EXPECT_EQ(p.check("[::1]", ""), Decision::allowed);
  EXPECT_EQ(p.check("::ffff:127.0.0.1", ""), Decision::allowed);
  EXPECT_EQ(p.check("10.0.0.1", ""), Decision::forbidden);
  EXPECT_EQ(p.check("128.0.0.1", ""), Decision::forbidden);
  EXPECT_EQ(p.check("::2", ""), Decision::forbidden);
  EXPECT_EQ(p.check("::ffff:10.0.0.1", ""), Decision::forbidden);
  EXPECT_EQ(p.check("::127.0.0.1", ""), Decision::forbidden);  // IPv4-compatible, not mapped
  EXPECT_FALSE(p.requires_token());
  // An empty list is the same as the default.
  const auto q = make({});
  EXPECT_EQ(q.check("127.0.0.1", ""), Decision::allowed);
  EXPECT_EQ(q.check("192.168.1.1", ""), Decision::forbidden);
}

TEST(AccessPolicy, BadPeersAreForbidden) {
  const AccessPolicy p;
  for (const char* peer : {"", "localhost", "127.0.0.1:80", "127.0.0", "1::2::3", " 127.0.0.1",
                           "127.0.0.1/8", "[::1", "fe80::1%", "::ffff:999.0.0.1"}) {
    EXPECT_EQ(p.check(peer, ""), Decision::forbidden) << peer;
  }
}

TEST(AccessPolicy, ConfiguredNetworksMatrix) {
  const auto p = make({"10.0.0.0/8", "192.168.1.7", "fd00::/8", "2001:db8::1", "0.0.0.0/32"});
  struct Case {
    const char* peer;
    Decision want;
  };
  for (const auto& c : std::vector<Case>{
           {"10.1.2.3", Decision::allowed},
           {"10.255.255.255", Decision::allowed},
           {"11.0.0.0", Decision::forbidden},
           {"::ffff:10.9.9.9", Decision::allowed},
           {"::FFFF:10.9.9.9", Decision::allowed},
           {"192.168.1.7", Decision::allowed},
           {"192.168.1.8", Decision::forbidden},
           {"fd12:3456::1", Decision::allowed},
           {"fe80::1", Decision::forbidden},
           {"fe80::1%eth0", Decision::forbidden},
           {"2001:db8::1", Decision::allowed},
           {"2001:db8::2", Decision::forbidden},
           {"127.0.0.1", Decision::forbidden},  // a list replaces the loopback default
           {"::1", Decision::forbidden},
           {"0.0.0.0", Decision::allowed},
       }) {
    EXPECT_EQ(p.check(c.peer, ""), c.want) << c.peer;
  }
}

TEST(AccessPolicy, PrefixBoundaries) {
  const auto p = make({"172.16.0.0/12", "2001:db8:abcd::/47"});
  EXPECT_EQ(p.check("172.16.0.0", ""), Decision::allowed);
  EXPECT_EQ(p.check("172.31.255.255", ""), Decision::allowed);
  EXPECT_EQ(p.check("172.32.0.0", ""), Decision::forbidden);
  EXPECT_EQ(p.check("172.15.255.255", ""), Decision::forbidden);
  EXPECT_EQ(p.check("2001:db8:abcd::1", ""), Decision::allowed);
  EXPECT_EQ(p.check("2001:db8:abcc::1", ""), Decision::allowed);  // /47: last bit of abcc is free
  EXPECT_EQ(p.check("2001:db8:abce::1", ""), Decision::forbidden);
}

TEST(AccessPolicy, ZeroPrefixes) {
  const auto any4 = make({"0.0.0.0/0"});
  EXPECT_EQ(any4.check("8.8.8.8", ""), Decision::allowed);
  EXPECT_EQ(any4.check("::ffff:8.8.8.8", ""), Decision::allowed);
  EXPECT_EQ(any4.check("2001:db8::1", ""), Decision::forbidden);  // families stay apart
  const auto any6 = make({"::/0"});
  EXPECT_EQ(any6.check("2001:db8::1", ""), Decision::allowed);
  EXPECT_EQ(any6.check("8.8.8.8", ""), Decision::forbidden);
}

TEST(AccessPolicy, MappedNetworkIsAnIpv4Network) {
  const auto p = make({"::ffff:10.0.0.0/104"});
  EXPECT_EQ(p.check("10.20.30.40", ""), Decision::allowed);
  EXPECT_EQ(p.check("::ffff:10.20.30.40", ""), Decision::allowed);
  EXPECT_EQ(p.check("11.0.0.1", ""), Decision::forbidden);
  const auto host = make({"::ffff:127.0.0.1"});
  EXPECT_EQ(host.check("127.0.0.1", ""), Decision::allowed);
  EXPECT_EQ(host.check("127.0.0.2", ""), Decision::forbidden);
}

TEST(AccessPolicy, ParseErrorsNameTheEntry) {
  EXPECT_EQ(error_of({"10.0.0.0/8", "10.0.0.0/33"}),
            "entry 1 '10.0.0.0/33': prefix length must be 0-32");
  EXPECT_EQ(error_of({"::/129"}), "entry 0 '::/129': prefix length must be 0-128");
  EXPECT_EQ(error_of({"localhost"}), "entry 0 'localhost': not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of({"10.0.0.0/"}), "entry 0 '10.0.0.0/': prefix length must be 0-32");
  EXPECT_EQ(error_of({"10.0.0.0/8x"}), "entry 0 '10.0.0.0/8x': prefix length must be 0-32");
  EXPECT_EQ(error_of({"10.0.0.0/-1"}), "entry 0 '10.0.0.0/-1': prefix length must be 0-32");
  EXPECT_EQ(error_of({"::ffff:10.0.0.0/80"}),
            "entry 0 '::ffff:10.0.0.0/80': an IPv4-mapped network needs a prefix length of 96-128");
  EXPECT_EQ(error_of({""}), "entry 0 '': not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of({"256.0.0.0/8"}), "entry 0 '256.0.0.0/8': not an IPv4 or IPv6 address");

  AccessPolicy::Network n;
  EXPECT_EQ(AccessPolicy::parse_network("10.1.2.3/8", n), "");  // host bits are ignored
  EXPECT_TRUE(n.v4);
  EXPECT_EQ(n.prefix, 8);
  EXPECT_EQ(AccessPolicy::parse_network("fd00::", n), "");
  EXPECT_FALSE(n.v4);
  EXPECT_EQ(n.prefix, 128);
}

TEST(AccessPolicy, BearerTokenMatrix) {
  const auto p = make({"127.0.0.0/8", "::1"}, "s3cret-token");
  EXPECT_TRUE(p.requires_token());
  struct Case {
    const char* peer;
    const char* auth;
    Decision want;
  };
  for (const auto& c : std::vector<Case>{
           {"127.0.0.1", "Bearer s3cret-token", Decision::allowed},
           {"::1", "bearer s3cret-token", Decision::allowed},
           {"127.0.0.1", "BEARER   s3cret-token  ", Decision::allowed},
           {"127.0.0.1", "", Decision::unauthorized},
           {"127.0.0.1", "Bearer", Decision::unauthorized},
           {"127.0.0.1", "Bearer ", Decision::unauthorized},
           {"127.0.0.1", "Bearer s3cret-toke", Decision::unauthorized},
           {"127.0.0.1", "Bearer s3cret-token2", Decision::unauthorized},
           {"127.0.0.1", "Bearer S3cret-token", Decision::unauthorized},
           {"127.0.0.1", "Basic s3cret-token", Decision::unauthorized},
           {"127.0.0.1", "Bearers3cret-token", Decision::unauthorized},
           {"127.0.0.1", "s3cret-token", Decision::unauthorized},
           // The network comes first: a right token from a wrong address is still 403.
           {"10.0.0.1", "Bearer s3cret-token", Decision::forbidden},
           {"10.0.0.1", "", Decision::forbidden},
       }) {
    EXPECT_EQ(p.check(c.peer, c.auth), c.want) << c.peer << " / " << c.auth;
  }
}

TEST(AccessPolicy, HttpStatus) {
  EXPECT_EQ(http_status(Decision::allowed), 200);
  EXPECT_EQ(http_status(Decision::forbidden), 403);
  EXPECT_EQ(http_status(Decision::unauthorized), 401);
}

TEST(ConstantTimeEqual, Cases) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abd", "abc"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("abcabc", "abc"));  // the secret repeated is not the secret
  EXPECT_FALSE(constant_time_equal("", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("x", ""));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
}

}  // namespace
}  // namespace olla::observe
