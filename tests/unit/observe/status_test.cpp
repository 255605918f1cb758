#include "olla/observe/status.hpp"

#include <gtest/gtest.h>

#include "olla/config/config.hpp"
#include "olla/observe/metrics.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::observe {
namespace {

using json = nlohmann::ordered_json;

class StatusTest : public ::testing::Test {
 protected:
  StatusTest()
      : pool_(config::load_string("discovery:\n"
                                  "  static:\n"
                                  "    endpoints:\n"
                                  "      - url: http://127.0.0.1:4000/base?key=secret\n"
                                  "        name: alpha\n"
                                  "        priority: 90\n"
                                  "      - url: https://[::1]:4443\n"
                                  "        name: beta\n",
                                  "test.yaml")) {
    pool_.models().set_models(0, {{"gpt-4o", "openai", 0}, {"claude-3", "anthropic", 0}});
    pool_.models().set_models(1, {{"gpt-4o", "openai", 0}});
    pool_.at(0).status = pool::EndpointStatus::healthy;
    pool_.at(1).status = pool::EndpointStatus::offline;
  }

  pool::EndpointPool pool_;
  Metrics metrics_;
};

TEST_F(StatusTest, Summary) {
  metrics_.record_request({"alpha", "gpt-4o", 200, 0.5, 0.1, 0.4, std::nullopt});
  metrics_.record_request({"", "", 404, 0.001, 0, 0, std::nullopt});
  pool_.at(1).failures = 4;
  const json j = status_summary(pool_, metrics_, std::chrono::seconds(42), 3);
  EXPECT_EQ(
      j.dump(),
      R"({"name":"olla","version":")" OLLA_VERSION
      R"(","status":"degraded","uptime_s":42,"endpoints":{"healthy":1,"routable":1,"total":2},)"
      R"("models":2,"in_flight":3,"requests":2,"failures":4})");
}

TEST_F(StatusTest, SummaryUnhealthyAndHealthy) {
  pool_.at(0).status = pool::EndpointStatus::unknown;
  EXPECT_EQ(status_summary(pool_, metrics_, {}, 0)["status"], "unhealthy");
  pool_.at(0).status = pool::EndpointStatus::healthy;
  pool_.at(1).status = pool::EndpointStatus::healthy;
  EXPECT_EQ(status_summary(pool_, metrics_, {}, 0)["status"], "healthy");
}

TEST_F(StatusTest, EndpointsShape) {
  for (int i = 0; i < 100; ++i)
    metrics_.record_request({"alpha", "gpt-4o", 200, 0.2, 0.04, 0.19, std::nullopt});
  pool_.at(0).in_flight = 2;
  pool_.at(0).requests = 100;
  pool_.at(0).last_check_ms = 1'714'564'800'123;  // 2024-05-01T12:00:00.123Z
  pool_.at(0).next_check_ms = 1'714'564'805'123;

  const json j = status_endpoints(pool_, metrics_);
  ASSERT_TRUE(j.contains("endpoints"));
  ASSERT_EQ(j["endpoints"].size(), 2u);
  const auto& a = j["endpoints"][0];
  std::vector<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "url", "type", "status", "routable", "priority",
                                            "in_flight", "requests", "failures", "circuit_breaker",
                                            "latency_ms", "ttfb_ms", "models", "last_check",
                                            "next_check"}));
  EXPECT_EQ(a["name"], "alpha");
  EXPECT_EQ(a["url"], "http://127.0.0.1:4000/base");
  EXPECT_EQ(a["type"], "litellm");
  EXPECT_EQ(a["status"], "healthy");
  EXPECT_EQ(a["routable"], true);
  EXPECT_EQ(a["priority"], 90);
  EXPECT_EQ(a["in_flight"], 2);
  EXPECT_EQ(a["requests"], 100);
  EXPECT_EQ(a["failures"], 0);
  EXPECT_EQ(a["circuit_breaker"], json({{"state", "closed"}, {"opens", 0}}));
  // All samples in (0.1, 0.25]: the estimates interpolate inside that bucket.
  const auto& lat = a["latency_ms"];
  EXPECT_EQ(lat["count"], 100);
  EXPECT_DOUBLE_EQ(lat["p50"].get<double>(), 175.0);
  EXPECT_DOUBLE_EQ(lat["p95"].get<double>(), 242.5);
  EXPECT_DOUBLE_EQ(lat["p99"].get<double>(), 248.5);
  EXPECT_DOUBLE_EQ(a["ttfb_ms"]["p50"].get<double>(), 37.5);  // (0.025, 0.05]
  EXPECT_EQ(a["models"], json({{"count", 2}, {"ids", {"gpt-4o", "claude-3"}}}));
  EXPECT_EQ(a["last_check"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(a["next_check"], "2024-05-01T12:00:05.123Z");

  const auto& b = j["endpoints"][1];
  EXPECT_EQ(b["url"], "https://[::1]:4443");
  EXPECT_EQ(b["status"], "offline");
  EXPECT_EQ(b["routable"], false);
  EXPECT_EQ(b["priority"], 100);
  EXPECT_TRUE(b["latency_ms"]["p50"].is_null());
  EXPECT_TRUE(b["ttfb_ms"]["p99"].is_null());
  EXPECT_EQ(b["latency_ms"]["count"], 0);
  EXPECT_TRUE(b["last_check"].is_null());
  EXPECT_TRUE(b["next_check"].is_null());
}

TEST_F(StatusTest, Models) {
  const json j = status_models(pool_);
  EXPECT_EQ(j.dump(), R"({"models":[)"
                      R"({"id":"gpt-4o","provider":"openai","endpoints":[)"
                      R"({"name":"alpha","status":"healthy","routable":true},)"
                      R"({"name":"beta","status":"offline","routable":false}]},)"
                      R"({"id":"claude-3","provider":"anthropic","endpoints":[)"
                      R"({"name":"alpha","status":"healthy","routable":true}]}]})");
}

TEST_F(StatusTest, ModelIdsWithAnyBytesStillDump) {
  pool_.models().set_models(1, {{"bad\xff", "", 0}});
  const json j = status_models(pool_);
  EXPECT_NO_THROW(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

TEST(PublicUrl, StripsCredentialsQueryAndFragment) {
  EXPECT_EQ(public_url("http://localhost:4000"), "http://localhost:4000");
  EXPECT_EQ(public_url("https://user:pw@litellm.example.com/v1"), "https://litellm.example.com/v1");
  EXPECT_EQ(public_url("http://a@b@host:1/p?api_key=x#frag"), "http://host:1/p");
  EXPECT_EQ(public_url("http://host?key=1"), "http://host");
  EXPECT_EQ(public_url("http://[::1]:4000/x"), "http://[::1]:4000/x");
  EXPECT_EQ(public_url("host:4000/p?x"), "host:4000/p");
}

TEST(Iso8601, Utc) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc(1'714'564'800'123), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(iso8601_utc(951'782'400'000), "2000-02-29T00:00:00.000Z");
}

}  // namespace
}  // namespace olla::observe
