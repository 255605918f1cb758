// Reloading the endpoint list (what SIGHUP does): added endpoints serve, removed ones drain their
// streams, nothing else is interrupted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "harness.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::test {
namespace {

using nlohmann::json;

config::EndpointConfig endpoint_for(const mock::MockLiteLLM& m, const std::string& name) {
  auto cfg = config::load_string(
      "discovery:\n  static:\n    endpoints:\n      - url: http://127.0.0.1:" +
      std::to_string(m.port()) + "\n        name: " + name + "\n        check_interval: 200ms\n");
  return cfg.discovery.endpoints.at(0);
}

int healthy_endpoints(std::uint16_t port) {
  auto j = json::parse(request(port, "GET", "/olla/litellm/health").body, nullptr, false);
  return j.is_object() ? j["endpoints"]["healthy"].get<int>() : -1;
}

bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

TEST(Reload, AddedEndpointServesAndRemovedOneDrainsItsStream) {
  mock::MockOptions slow;
  slow.chunk_delay_ms = 100;
  Stack stack({slow}, "proxy:\n  load_balancer: round-robin\n");
  ASSERT_TRUE(stack.wait_healthy(1));
  const auto original = stack.gateway().config().discovery.endpoints.at(0);

  mock::MockLiteLLM second;
  second.start();
  auto summary = stack.gateway().reload_endpoints({original, endpoint_for(second, "litellm-new")});
  EXPECT_NE(summary.find("1 added, 0 removed, 1 unchanged"), std::string::npos) << summary;
  ASSERT_TRUE(eventually([&] { return healthy_endpoints(stack.port()) == 2; }));
  std::set<std::string> served;
  for (int i = 0; i < 6; ++i) {
    auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                     chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200);
    served.insert(r.header("x-olla-endpoint"));
  }
  EXPECT_EQ(served, (std::set<std::string>{"litellm-gateway", "litellm-new"}));

  // A stream on the original endpoint is under way when the endpoint is removed: it finishes.
  StreamResult s;
  std::thread streamer([&] {
    s = stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true),
               {{"x-mock-chunks", "8"}});
  });
  ASSERT_TRUE(eventually(
      [&] { return stack.mock().requests() > 0 && stack.gateway().pool().at(0).in_flight > 0; }));
  summary = stack.gateway().reload_endpoints({endpoint_for(second, "litellm-new")});
  EXPECT_NE(summary.find("0 added, 1 removed, 1 unchanged"), std::string::npos) << summary;
  for (int i = 0; i < 4; ++i) {
    auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                     chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-new");
  }
  streamer.join();
  EXPECT_TRUE(s.complete) << s.error;
  EXPECT_EQ(s.head.header("x-olla-endpoint"), "litellm-gateway");
  ASSERT_FALSE(s.frames.empty());
  EXPECT_EQ(s.frames.back().data, "data: [DONE]");
  auto health = json::parse(request(stack.port(), "GET", "/olla/litellm/health").body);
  EXPECT_EQ(health["endpoints"]["total"], 1);
  EXPECT_EQ(health["status"], "healthy");
}

TEST(Reload, ChangedSettingsReplaceTheEndpoint) {
  Stack stack;
  ASSERT_TRUE(stack.wait_healthy(1));
  auto changed = stack.gateway().config().discovery.endpoints.at(0);
  changed.priority = 7;
  const auto summary = stack.gateway().reload_endpoints({changed});
  EXPECT_NE(summary.find("1 added, 1 removed, 0 unchanged"), std::string::npos) << summary;
  ASSERT_TRUE(eventually([&] { return healthy_endpoints(stack.port()) == 1; }));
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
}

}  // namespace
}  // namespace olla::test
