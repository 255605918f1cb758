// Limits in front of paid providers: rate limits, the connection cap, CORS for browsers.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace olla::test {
namespace {

using nlohmann::json;

TEST(RateLimits, PerClientBucketAnswers429WithHeaders) {
  Stack stack({mock::MockOptions{}}, "", "60s", {}, [](config::Config& c) {
    c.server.rate_limits.per_ip_per_minute = 60;
    c.server.rate_limits.burst = 3;
  });
  ASSERT_TRUE(stack.wait_healthy(1));  // health routes are not in this bucket
  const auto before = stack.mock().requests();
  for (int i = 0; i < 3; ++i) {
    auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                     chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.header("x-ratelimit-limit"), "60");
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(2 - i));
  }
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(r.header("x-ratelimit-remaining"), "0");
  EXPECT_TRUE(r.has("x-ratelimit-reset"));
  EXPECT_TRUE(r.has("x-olla-request-id"));
  EXPECT_EQ(json::parse(r.body)["error"]["type"], "rate_limit_error");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], 429);
  EXPECT_EQ(stack.mock().requests(), before + 3) << "the refused request reached a backend";
  // A spoofed X-Forwarded-For from an untrusted peer buys no new bucket.
  r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false),
              {{"X-Forwarded-For", "203.0.113.9"}});
  EXPECT_EQ(r.status, 429);
}

TEST(RateLimits, TrustedProxyForwardsTheClientAddress) {
  Stack stack({mock::MockOptions{}}, "", "60s", {}, [](config::Config& c) {
    c.server.rate_limits.per_ip_per_minute = 60;
    c.server.rate_limits.burst = 1;
    c.server.rate_limits.trusted_proxy_cidrs = {"127.0.0.0/8"};
  });
  ASSERT_TRUE(stack.wait_healthy(1));
  auto chat_from = [&](const std::string& xff) {
    return request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                   chat_body("gpt-4", false), {{"X-Forwarded-For", xff}})
        .status;
  };
  EXPECT_EQ(chat_from("198.51.100.1"), 200);
  EXPECT_EQ(chat_from("198.51.100.1"), 429);
  EXPECT_EQ(chat_from("198.51.100.2"), 200) << "another client behind the proxy has its own bucket";
  // The rightmost untrusted address counts: a client cannot pick its bucket by prepending.
  EXPECT_EQ(chat_from("10.9.9.9, 198.51.100.1"), 429);
}

TEST(ConnectionCap, OverTheCapIsShedWith503AndTheDaemonRecovers) {
  Stack stack({mock::MockOptions{}}, "", "60s", {}, [](config::Config& c) {
    c.server.max_connections = 4;
    c.server.threads = 1;
  });
  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> held;
  for (int i = 0; i < 4; ++i) {
    held.emplace_back(ioc);
    held.back().connect({boost::asio::ip::make_address("127.0.0.1"), stack.port()});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the sessions are accepted
  auto out = raw_exchange(stack.port(), "GET /internal/health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
  EXPECT_NE(out.find("\"overloaded\""), std::string::npos);
  EXPECT_NE(out.find("X-Olla-Request-ID"), std::string::npos);
  for (auto& s : held) s.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(request(stack.port(), "GET", "/internal/health").status, 200);
}

TEST(CorsOn, PreflightAndExposedHeaders) {
  Stack stack({mock::MockOptions{}}, "", "60s", {}, [](config::Config& c) {
    c.server.cors.enabled = true;
    c.server.cors.allowed_origins = {"https://app.example"};
  });
  ASSERT_TRUE(stack.wait_healthy(1));
  const auto before = stack.mock().requests();
  auto pre = request(stack.port(), "OPTIONS", "/olla/litellm/v1/chat/completions", "",
                     {{"Origin", "https://app.example"},
                      {"Access-Control-Request-Method", "POST"},
                      {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(pre.header("access-control-allow-headers"), "authorization, content-type");
  EXPECT_EQ(stack.mock().requests(), before) << "the gateway answers preflights itself";
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                   chat_body("gpt-4", false), {{"Origin", "https://app.example"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example");
  EXPECT_NE(r.header("access-control-expose-headers").find("X-Olla-Model"), std::string::npos);
  r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false),
              {{"Origin", "https://evil.example"}});
  EXPECT_FALSE(r.has("access-control-allow-origin"));
}

TEST(CorsOff, NoCorsHeadersByDefault) {
  Stack stack;
  auto r =
      request(stack.port(), "GET", "/internal/health", "", {{"Origin", "https://app.example"}});
  EXPECT_FALSE(r.has("access-control-allow-origin"));
}

}  // namespace
}  // namespace olla::test
