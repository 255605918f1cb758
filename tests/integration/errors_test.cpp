// The gateway's own errors (JSON envelope, request id) and LiteLLM's errors passed through.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace olla::test {
namespace {

using nlohmann::json;

void expect_gateway_error(const Response& r, int status, const std::string& type) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_TRUE(r.has("x-olla-request-id"));
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["type"], type);
  EXPECT_EQ(j["error"]["code"], status);
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

class Errors : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(stack.wait_healthy(1)); }
  Stack stack;
};

TEST_F(Errors, RateLimitKeepsRetryAfterAndGainsContext) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                   chat_body("gpt-4", false), {{"x-mock-fail", "429"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "7");
  EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["error"]["message"], "Rate limit exceeded for model gpt-4");
  EXPECT_EQ(j["error"]["type"], "rate_limit_error");
  EXPECT_EQ(j["error"]["code"], 429);  // the seed's shape: a number
  EXPECT_EQ(j["error"]["provider"], "openai");
  EXPECT_EQ(j["error"]["endpoint"], "litellm-gateway");
  EXPECT_EQ(std::to_string(r.body.size()), r.header("content-length"));
}

TEST_F(Errors, TraversalIsRefusedAndNeverReachesTheBackend) {
  const auto before = stack.mock().requests();
  for (const char* path : {"/olla/litellm/../etc/passwd", "/olla/litellm/%2e%2e/x",
                           "/olla/litellm/v1/%2E%2e/%2e%2E/key/info", "/olla/litellm/a/..%5c..%5cx",
                           "/olla/litellm/bad%zzescape"}) {
    auto r = request(stack.port(), "GET", path);
    expect_gateway_error(r, 400, "invalid_request_error");
  }
  EXPECT_EQ(stack.mock().requests(), before);
}

TEST_F(Errors, UnknownRouteIs404Json) {
  expect_gateway_error(request(stack.port(), "GET", "/v1/chat/completions"), 404,
                       "not_found_error");
  expect_gateway_error(request(stack.port(), "GET", "/olla/other/v1/models"), 404,
                       "not_found_error");
}

TEST_F(Errors, MalformedHttpGets400AndTheDaemonServesOn) {
  auto out = raw_exchange(stack.port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_NE(out.find("invalid_request_error"), std::string::npos);
  EXPECT_NE(out.find("X-Olla-Request-ID"), std::string::npos);
  out = raw_exchange(
      stack.port(),
      "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  auto r = request(stack.port(), "GET", "/olla/litellm/health");
  EXPECT_EQ(r.status, 200);
}

TEST_F(Errors, BackendResetBeforeAnswerIs502) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                   chat_body("gpt-4", false), {{"x-mock-fail", "reset"}});
  expect_gateway_error(r, 502, "upstream_error");
}

TEST(ErrorsTimeout, SlowHeadersBeyondResponseTimeoutIs504) {
  Stack stack({mock::MockOptions{}}, "proxy:\n  response_timeout: 300ms\n");
  ASSERT_TRUE(stack.wait_healthy(1));
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false),
              {{"x-mock-fail", "slow-headers"}, {"x-mock-delay-ms", "2000"}});
  expect_gateway_error(r, 504, "upstream_timeout");
}

TEST(ErrorsNoBackend, AllBackendsDownIs503WithRequestId) {
  Stack stack;
  ASSERT_TRUE(stack.wait_healthy(1));
  stack.mock().stop();
  // The first request may find the endpoint before its probe notices; it must still be JSON.
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_TRUE(r.status == 502 || r.status == 503) << r.status;
  r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  expect_gateway_error(r, 503, "no_healthy_endpoints");
  auto h = request(stack.port(), "GET", "/olla/litellm/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(json::parse(h.body)["status"], "unhealthy");
}

TEST(ErrorsFailover, NoDeploymentsIsRetriedOnAnotherEndpoint) {
  // Probes far apart, so the endpoint stays "healthy" while it fails requests.
  Stack stack({mock::MockOptions{}, mock::MockOptions{}}, "proxy:\n  load_balancer: round-robin\n",
              "60s");
  ASSERT_TRUE(stack.wait_healthy(2));
  // "No deployments available" is one LiteLLM instance cooling down: the other one serves.
  stack.mock(0).set_fail_mode("no-deployments");
  for (int i = 0; i < 4; ++i) {
    auto ok = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                      chat_body("gpt-4", false));
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.header("x-olla-endpoint"), "litellm-1");
  }
}

}  // namespace
}  // namespace olla::test

namespace olla::test {
namespace {

TEST(ErrorsFailover, PlainRateLimitIsNotRetried) {
  Stack stack({mock::MockOptions{}, mock::MockOptions{}}, "proxy:\n  load_balancer: round-robin\n",
              "60s");
  ASSERT_TRUE(stack.wait_healthy(2));
  stack.mock(0).set_fail_mode("429");
  stack.mock(1).set_fail_mode("429");
  const auto before = stack.mock(0).llm_requests() + stack.mock(1).llm_requests();
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(stack.mock(0).llm_requests() + stack.mock(1).llm_requests(), before + 1)
      << "a client's own rate limit must reach it, not be retried elsewhere";
}

TEST(ErrorsFailover, ResetBeforeAnswerIsRetriedOnAnotherEndpoint) {
  Stack stack({mock::MockOptions{}, mock::MockOptions{}}, "proxy:\n  load_balancer: round-robin\n",
              "60s");
  ASSERT_TRUE(stack.wait_healthy(2));
  stack.mock(1).set_fail_mode("reset");
  for (int i = 0; i < 4; ++i) {
    auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                     chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-0");
  }
}

}  // namespace
}  // namespace olla::test

namespace olla::test {
namespace {

TEST(ErrorsBreaker, RepeatedResetsOpenTheBreakerAndTrafficSkipsTheEndpoint) {
  Stack stack({mock::MockOptions{}, mock::MockOptions{}},
              "proxy:\n  load_balancer: round-robin\n  circuit_breaker:\n    failure_threshold: 2\n"
              "    cooldown: 60s\n",
              "60s");
  ASSERT_TRUE(stack.wait_healthy(2));
  stack.mock(0).set_fail_mode("reset");
  for (int i = 0; i < 6; ++i) {
    auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                     chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  // Two resets opened it; after that the endpoint is not even tried.
  const auto tried = stack.mock(0).llm_requests();
  for (int i = 0; i < 6; ++i) {
    auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                     chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-1");
  }
  EXPECT_EQ(stack.mock(0).llm_requests(), tried);
  auto health = nlohmann::json::parse(request(stack.port(), "GET", "/olla/litellm/health").body);
  EXPECT_EQ(health["status"], "degraded");
}

TEST(ErrorsBreaker, ClientHangUpsNeverOpenIt) {
  mock::MockOptions slow;
  slow.chunk_delay_ms = 200;
  Stack stack({slow}, "proxy:\n  circuit_breaker:\n    failure_threshold: 2\n    cooldown: 60s\n");
  ASSERT_TRUE(stack.wait_healthy(1));
  for (int i = 0; i < 5; ++i) {
    auto s =
        stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true), {}, 1);
    EXPECT_EQ(s.frames.size(), 1u);
  }
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace olla::test

namespace olla::test {
namespace {

TEST(ErrorsFailover, WhenEveryEndpointIsCoolingDownLiteLLMsOwn429ReachesTheClient) {
  Stack stack({mock::MockOptions{}, mock::MockOptions{}}, "", "60s");
  ASSERT_TRUE(stack.wait_healthy(2));
  stack.mock(0).set_fail_mode("no-deployments");
  stack.mock(1).set_fail_mode("no-deployments");
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("No deployments available"),
            std::string::npos);
  EXPECT_TRUE(j["error"].contains("endpoint"));
  EXPECT_EQ(stack.mock(0).requests() + stack.mock(1).requests() >= 2, true) << "both were tried";
}

TEST(ErrorsLimits, ChunkedBodyOverTheLimitAfterInspectionIs413) {
  Stack stack({mock::MockOptions{}}, "proxy:\n  max_inspect_bytes: 1KB\n", "200ms", {},
              [](config::Config& c) { c.server.max_body_size = 64 << 10; });
  ASSERT_TRUE(stack.wait_healthy(1));
  std::string raw =
      "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string piece(8192, 'a');
  for (int i = 0; i < 12; ++i) raw += "2000\r\n" + piece + "\r\n";
  raw += "0\r\n\r\n";
  auto out = raw_exchange(stack.port(), raw);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out.substr(0, 300);
  EXPECT_NE(out.find("request_too_large"), std::string::npos);
  EXPECT_EQ(request(stack.port(), "GET", "/olla/litellm/health").status, 200);
}

TEST_F(Errors, HeadOnGatewayRoutesHasNoBody) {
  std::string raw =
      "HEAD /internal/health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /internal/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto out = raw_exchange(stack.port(), raw);
  const auto first_end = out.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos);
  EXPECT_EQ(out.compare(first_end + 4, 15, "HTTP/1.1 200 OK"), 0) << out;
  EXPECT_NE(out.substr(0, first_end).find("Content-Length: 15"), std::string::npos) << out;
}

}  // namespace
}  // namespace olla::test
