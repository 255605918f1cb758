#include "olla/pool/health_policy.hpp"

#include <gtest/gtest.h>

namespace olla::pool {
namespace {

using namespace std::chrono_literals;
using config::Duration;

TEST(ClassifyProbe, Statuses) {
  EXPECT_EQ(classify_probe(0), EndpointStatus::offline);
  EXPECT_EQ(classify_probe(200), EndpointStatus::healthy);
  EXPECT_EQ(classify_probe(204), EndpointStatus::healthy);
  EXPECT_EQ(classify_probe(299), EndpointStatus::healthy);
  EXPECT_EQ(classify_probe(429), EndpointStatus::rate_limited);
  EXPECT_EQ(classify_probe(401), EndpointStatus::config_error);
  EXPECT_EQ(classify_probe(403), EndpointStatus::config_error);
  EXPECT_EQ(classify_probe(500), EndpointStatus::unhealthy);
  EXPECT_EQ(classify_probe(503), EndpointStatus::unhealthy);
  EXPECT_EQ(classify_probe(404), EndpointStatus::unhealthy);
  EXPECT_EQ(classify_probe(302), EndpointStatus::unhealthy);
  EXPECT_EQ(classify_probe(100), EndpointStatus::unhealthy);
}

TEST(NextProbeDelay, HealthyUsesTheInterval) {
  EXPECT_EQ(next_probe_delay(5s, 0), Duration(5s));
  EXPECT_EQ(next_probe_delay(250ms, 0), Duration(250ms));
}

TEST(NextProbeDelay, DoublesPerFailureUpTo60s) {
  EXPECT_EQ(next_probe_delay(5s, 1), Duration(10s));
  EXPECT_EQ(next_probe_delay(5s, 2), Duration(20s));
  EXPECT_EQ(next_probe_delay(5s, 3), Duration(40s));
  EXPECT_EQ(next_probe_delay(5s, 4), Duration(60s));
  EXPECT_EQ(next_probe_delay(5s, 5), Duration(60s));
  EXPECT_EQ(next_probe_delay(5s, 1000), Duration(60s));
  EXPECT_EQ(next_probe_delay(7s, 3), Duration(56s));
}

TEST(NextProbeDelay, NeverShorterThanALongInterval) {
  EXPECT_EQ(next_probe_delay(90s, 0), Duration(90s));
  EXPECT_EQ(next_probe_delay(90s, 3), Duration(90s));
}

TEST(NextProbeDelay, RetryAfterIsAFloor) {
  EXPECT_EQ(next_probe_delay(5s, 0, 120s), Duration(120s));
  EXPECT_EQ(next_probe_delay(5s, 5, 120s), Duration(120s));
  EXPECT_EQ(next_probe_delay(5s, 0, 2s), Duration(5s));
  EXPECT_EQ(next_probe_delay(5s, 2, 30s), Duration(30s));
  EXPECT_EQ(next_probe_delay(5s, 3, 30s), Duration(40s));
}

TEST(ParseRetryAfter, DeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120"), Duration(120s));
  EXPECT_EQ(parse_retry_after("1"), Duration(1s));
  EXPECT_EQ(parse_retry_after("0"), Duration(0));
  EXPECT_EQ(parse_retry_after("007"), Duration(7s));
}

TEST(ParseRetryAfter, AbsentOrUnparsable) {
  for (const char* bad :
       {"", "abc", "-5", "1.5", "5s", "Wed, 21 Oct 2015 07:28:00 GMT", "1234567890"}) {
    EXPECT_EQ(parse_retry_after(bad), Duration(0)) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace olla::pool
