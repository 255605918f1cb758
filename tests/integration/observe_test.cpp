// The operator's view: /internal/status*, /internal/metrics, and who may read them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "harness.hpp"

namespace olla::test {
namespace {

using nlohmann::json;

// The value of one Prometheus sample line, or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(Observe, StatusAndMetricsMatchTheRequestsMade) {
  Stack stack({mock::MockOptions{}}, "", "60s");
  ASSERT_TRUE(stack.wait_healthy(1));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                      chat_body("gpt-4", false))
                  .status,
              200);
  }
  auto s = stream(stack.port(), "/olla/litellm/v1/chat/completions",
                  chat_body("claude-3-opus", true, true));
  ASSERT_TRUE(s.complete);
  EXPECT_EQ(request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                    chat_body("gpt-4", false), {{"x-mock-fail", "429"}})
                .status,
            429);

  // A request is accounted for (in_flight, latency) just after its last byte goes out, so the
  // client may ask before the last one's bookkeeping is done: wait for it (bounded).
  json eps;
  for (int i = 0; i < 200; ++i) {
    eps = json::parse(request(stack.port(), "GET", "/internal/status/endpoints").body);
    if (eps["endpoints"].size() == 1u && eps["endpoints"][0]["in_flight"] == 0 &&
        eps["endpoints"][0]["latency_ms"]["count"] == 5) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(eps["endpoints"].size(), 1u);
  const auto& ep = eps["endpoints"][0];
  EXPECT_EQ(ep["name"], "litellm-gateway");
  EXPECT_EQ(ep["status"], "healthy");
  EXPECT_EQ(ep["requests"], 5);
  EXPECT_EQ(ep["in_flight"], 0);
  EXPECT_EQ(ep["models"]["count"], 5);
  EXPECT_EQ(ep["latency_ms"]["count"], 5);
  EXPECT_TRUE(ep["last_check"].is_string());

  auto summary = json::parse(request(stack.port(), "GET", "/internal/status").body);
  EXPECT_EQ(summary["status"], "healthy");
  EXPECT_EQ(summary["endpoints"]["total"], 1);

  auto models = json::parse(request(stack.port(), "GET", "/internal/status/models").body);
  EXPECT_FALSE(models.dump().find("claude-3-opus") == std::string::npos);

  auto m = request(stack.port(), "GET", "/internal/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_EQ(
      sample(m.body,
             R"(olla_requests_total{endpoint="litellm-gateway",model="gpt-4",status_class="2xx"})"),
      3);
  EXPECT_EQ(
      sample(m.body,
             R"(olla_requests_total{endpoint="litellm-gateway",model="gpt-4",status_class="4xx"})"),
      1);
  EXPECT_EQ(
      sample(
          m.body,
          R"(olla_requests_total{endpoint="litellm-gateway",model="claude-3-opus",status_class="2xx"})"),
      1);
  EXPECT_EQ(sample(m.body, R"(olla_request_duration_seconds_count{endpoint="litellm-gateway"})"),
            5);
  // Tokens from plain bodies (3 x 25 prompt) and from the stream's usage chunk (25).
  EXPECT_EQ(sample(m.body, R"(olla_prompt_tokens_total{endpoint="litellm-gateway",model="gpt-4"})"),
            75);
  EXPECT_EQ(sample(m.body,
                   R"(olla_prompt_tokens_total{endpoint="litellm-gateway",model="claude-3-opus"})"),
            25);
  EXPECT_EQ(sample(m.body, R"(olla_endpoint_up{endpoint="litellm-gateway"})"), 1);
  EXPECT_GT(sample(m.body, "olla_gateway_overhead_seconds_count"), 0);
}

TEST(Observe, ClientCancellationsAreCountedNotBlamedOnTheEndpoint) {
  mock::MockOptions slow;
  slow.chunk_delay_ms = 200;
  Stack stack({slow});
  ASSERT_TRUE(stack.wait_healthy(1));
  for (int i = 0; i < 3; ++i)
    stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true), {}, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto m = request(stack.port(), "GET", "/internal/metrics").body;
  EXPECT_EQ(sample(m, R"(olla_client_cancellations_total{endpoint="litellm-gateway"})"), 3);
  EXPECT_EQ(sample(m, R"(olla_circuit_breaker_opens_total{endpoint="litellm-gateway"})"), 0);
  auto eps = json::parse(request(stack.port(), "GET", "/internal/status/endpoints").body);
  EXPECT_EQ(eps["endpoints"][0]["failures"], 0);
}

TEST(ObserveAccess, OutsideTheAllowedNetworksIs403EvenWithForwardedFor) {
  Stack stack({mock::MockOptions{}}, "", "200ms", {},
              [](config::Config& c) { c.server.internal_allow_cidrs = {"10.0.0.0/8"}; });
  for (const char* path : {"/internal/health", "/internal/status", "/internal/metrics"}) {
    auto r = request(stack.port(), "GET", path, "", {{"X-Forwarded-For", "10.1.2.3"}});
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_EQ(json::parse(r.body)["error"]["type"], "permission_error");
    EXPECT_TRUE(r.has("x-olla-request-id"));
  }
  EXPECT_EQ(request(stack.port(), "GET", "/version").status, 200) << "/version is public";
}

TEST(ObserveAccess, BearerTokenWhenConfigured) {
  Stack stack({mock::MockOptions{}}, "", "200ms", {},
              [](config::Config& c) { c.server.internal_token = "s3cret-token"; });
  auto r = request(stack.port(), "GET", "/internal/status");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("www-authenticate"), "Bearer");
  EXPECT_EQ(
      request(stack.port(), "GET", "/internal/status", "", {{"Authorization", "Bearer wrong"}})
          .status,
      401);
  EXPECT_EQ(request(stack.port(), "GET", "/internal/status", "",
                    {{"Authorization", "Bearer s3cret-token"}})
                .status,
            200);
}

}  // namespace
}  // namespace olla::test
