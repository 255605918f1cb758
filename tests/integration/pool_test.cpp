// The pool (gateway.md section 4): routing by model, balancing, failover before the first byte,
// health probes (recovery, Retry-After), strict/optimistic routing and priority tiers, over real
// loopback sockets with mocks that are killed, restarted and made to fail.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kChat = "/olla/litellm/v1/chat/completions";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Polls pred every `step` until it holds or `timeout` passes.
template <typename Pred>
bool eventually(Pred pred, milliseconds timeout, milliseconds step = milliseconds(10)) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

struct Health {
  int status = 0;
  json body;
  int healthy() const {
    return body.is_object() && body.contains("endpoints") ? body["endpoints"]["healthy"].get<int>()
                                                          : -1;
  }
  int models() const { return body.is_object() ? body.value("models", -1) : -1; }
  std::string overall() const { return body.is_object() ? body.value("status", "") : ""; }
};

Health health(std::uint16_t port) {
  auto r = request(port, "GET", "/olla/litellm/health");
  return {r.status, json::parse(r.body, nullptr, false)};
}

// Waits until `healthy` endpoints are healthy and the union of their models has `models` ids, so
// that every endpoint's discovery has finished (not just the first one's).
bool ready(Stack& stack, int healthy, int models, milliseconds timeout = milliseconds(10000)) {
  return eventually(
      [&] {
        const auto h = health(stack.port());
        return h.healthy() == healthy && h.models() == models;
      },
      timeout, milliseconds(20));
}

// The mock's default five models plus the given ones.
mock::MockOptions with_models(std::vector<std::string> extra) {
  mock::MockOptions o;
  for (auto& id : extra) o.models.push_back({std::move(id), "openai"});
  return o;
}

// The model of the last request the mock saw ("" for a probe or none).
std::string last_model(const mock::MockLiteLLM& m) {
  const auto j = m.last_request();
  if (!j.is_object() || !j["json"].is_object() || !j["json"]["model"].is_string()) return {};
  return j["json"]["model"].get<std::string>();
}

Response chat(Stack& stack, const std::string& model, const Headers& headers = {}) {
  return request(stack.port(), "POST", kChat, chat_body(model, false), headers);
}

void expect_gateway_error(const Response& r, int status, const std::string& type) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("x-olla-request-id").empty()) << "every gateway error carries the id";
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["type"], type) << r.body;
  EXPECT_EQ(j["error"]["code"], status) << r.body;
}

// ---------------------------------------------------------------- choosing

TEST(PoolRouting, ModelOnOneBackendAlwaysGoesThere) {
  // Probes far apart, so the last request each mock saw is a routed one.
  Stack stack({with_models({"alpha-only"}), with_models({"beta-only"})}, "", "60s");
  ASSERT_TRUE(ready(stack, 2, 7));
  for (int i = 0; i < 10; ++i) {
    auto a = chat(stack, "alpha-only");
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.header("x-olla-endpoint"), "litellm-0") << "request " << i;
    auto b = chat(stack, "beta-only");
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ(b.header("x-olla-endpoint"), "litellm-1") << "request " << i;
  }
  EXPECT_EQ(last_model(stack.mock(0)), "alpha-only");
  EXPECT_EQ(last_model(stack.mock(1)), "beta-only");
}

TEST(PoolRouting, SharedModelIsSpreadOverBothBackends) {
  for (const std::string balancer : {"round-robin", "least-connections", ""}) {
    SCOPED_TRACE("load_balancer: " + (balancer.empty() ? "(default)" : balancer));
    Stack stack({with_models({"marker-0"}), with_models({"marker-1"})},
                balancer.empty() ? "" : "proxy:\n  load_balancer: " + balancer + "\n");
    ASSERT_TRUE(ready(stack, 2, 7));
    std::map<std::string, int> by_endpoint;
    for (int i = 0; i < 10; ++i) {
      auto r = chat(stack, "gpt-4");
      ASSERT_EQ(r.status, 200) << r.body;
      ++by_endpoint[r.header("x-olla-endpoint")];
    }
    EXPECT_EQ(by_endpoint.size(), 2u);
    // Sequential requests find both endpoints idle: ties rotate, so each gets a fair share.
    EXPECT_GE(by_endpoint["litellm-0"], 3) << "litellm-1 got " << by_endpoint["litellm-1"];
    EXPECT_GE(by_endpoint["litellm-1"], 3) << "litellm-0 got " << by_endpoint["litellm-0"];
  }
}

TEST(PoolRouting, StrictRefusesUnknownModelOptimisticServesIt) {
  const std::string unknown = "wildcard-provider/some-unlisted-model";
  {
    Stack stack({mock::MockOptions{}}, "model_registry:\n  routing_strategy:\n    type: strict\n",
                "60s");
    ASSERT_TRUE(ready(stack, 1, 5));
    auto r = chat(stack, unknown);
    expect_gateway_error(r, 404, "model_not_found");
    EXPECT_NE(last_model(stack.mock()), unknown)
        << "strict routing must not reach a backend for an unknown model";
    auto known = chat(stack, "gpt-4");
    EXPECT_EQ(known.status, 200) << known.body;
  }
  for (const std::string& yaml :
       {std::string(),
        std::string("model_registry:\n  routing_strategy:\n    type: optimistic\n")}) {
    SCOPED_TRACE(yaml.empty() ? "default strategy" : "explicit optimistic");
    Stack stack({mock::MockOptions{}}, yaml, "60s");
    ASSERT_TRUE(ready(stack, 1, 5));
    auto r = chat(stack, unknown);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
    EXPECT_EQ(last_model(stack.mock()), unknown);
  }
}

TEST(PoolRouting, ModelOnlyOnUnhealthyEndpointIs503) {
  Stack stack({with_models({"only-on-0"}), mock::MockOptions{}});
  ASSERT_TRUE(ready(stack, 2, 6));
  stack.mock(0).set_fail_mode("500");  // its probe answers 500: unhealthy
  ASSERT_TRUE(eventually([&] { return health(stack.port()).healthy() == 1; }, milliseconds(3000)))
      << "the probe never noticed the 500s";
  auto r = chat(stack, "only-on-0");
  expect_gateway_error(r, 503, "no_healthy_endpoints");
  auto s = stream(stack.port(), kChat, chat_body("only-on-0", true));
  EXPECT_EQ(s.head.status, 503) << s.head.body;
  // Not sent to the healthy endpoint that does not list it, nor to the unhealthy one.
  EXPECT_NE(last_model(stack.mock(0)), "only-on-0");
  EXPECT_NE(last_model(stack.mock(1)), "only-on-0");
  auto ok = chat(stack, "gpt-4");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("x-olla-endpoint"), "litellm-1");
}

TEST(PoolRouting, PriorityTierTakesAllTrafficAndFailsOver) {
  for (const std::string balancer : {"priority", "least-connections"}) {
    SCOPED_TRACE("load_balancer: " + balancer);
    Stack stack({with_models({"marker-0"}), with_models({"marker-1"})},
                "proxy:\n  load_balancer: " + balancer + "\n", "60s",
                {"priority: 100\n", "priority: 50\n"});
    ASSERT_TRUE(ready(stack, 2, 7));
    for (int i = 0; i < 10; ++i) {
      auto r = chat(stack, "gpt-4");
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-0") << "request " << i;
    }
    // Straight after the kill, with no probe due for a minute: the first request meets a dead
    // endpoint and must fail over, not fail.
    stack.mock(0).stop();
    for (int i = 0; i < 10; ++i) {
      auto r = chat(stack, "gpt-4");
      EXPECT_EQ(r.status, 200) << "request " << i << " after the kill: " << r.body;
      EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-1") << "request " << i;
    }
  }
}

// ---------------------------------------------------------------- failover

TEST(PoolFailover, BackendKilledUnderLoadFailsNoRequest) {
  // Probes far apart, so the mocks' request counters move only with the load (and the gateway
  // has to notice the death on the request path). Every answer waits 20 ms for its headers, so
  // the kill catches requests in flight at litellm-1 (reset before headers), and the requests
  // after it meet a refused connection.
  Stack stack({with_models({"marker-0"}), with_models({"marker-1"})}, "", "60s");
  ASSERT_TRUE(ready(stack, 2, 7));
  const auto received_before = stack.mock(1).requests();

  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> done{0};
  std::atomic<bool> killed{false};
  std::atomic<int> after_kill{0};
  std::atomic<int> answered_by_1{0};
  std::mutex mu;
  std::vector<std::string> failures;
  const auto deadline = Clock::now() + milliseconds(1500);

  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < kPerThread && Clock::now() < deadline; ++i) {
        const bool was_killed = killed.load();
        auto r = chat(stack, "gpt-4", {{"x-mock-fail", "slow-headers"}, {"x-mock-delay-ms", "20"}});
        if (r.status != 200) {
          std::lock_guard lk(mu);
          failures.push_back(std::to_string(r.status) + " " + r.body);
        } else if (r.header("x-olla-endpoint") == "litellm-1") {
          ++answered_by_1;
        }
        if (was_killed) ++after_kill;
        ++done;
      }
    });
  }
  // Kill litellm-1 once traffic flows through both endpoints.
  eventually([&] { return done.load() >= 4 * kThreads; }, milliseconds(1000), milliseconds(1));
  // ... at a moment when the gateway has requests under way there.
  eventually([&] { return stack.gateway().pool().at(1).in_flight.load() > 0; }, milliseconds(1000),
             milliseconds(0));
  const int answered_before_kill = answered_by_1.load();
  stack.mock(1).stop();
  killed = true;
  const auto in_flight_at_kill =
      static_cast<long>(stack.mock(1).requests() - received_before) - answered_by_1.load();
  for (auto& c : clients) c.join();

  EXPECT_GT(answered_before_kill, 0) << "litellm-1 took no traffic before it was killed";
  EXPECT_GE(after_kill.load(), 2 * kThreads) << "too few requests ran after the kill to tell";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << done.load() << " requests failed ("
                                << in_flight_at_kill
                                << " were in flight at the killed backend); first: "
                                << failures.front();
}

// ---------------------------------------------------------------- streaming

TEST(PoolStreaming, BackendKilledMidStreamGivesErrorFrame) {
  // Probes far apart: only the stream moves the mocks' request counters.
  Stack stack({with_models({"marker-0"}), with_models({"marker-1"})}, "", "60s");
  ASSERT_TRUE(ready(stack, 2, 7));
  const std::uint64_t before[2] = {stack.mock(0).requests(), stack.mock(1).requests()};

  StreamResult s;
  Clock::time_point ended;
  std::thread client([&] {
    s = stream(stack.port(), kChat, chat_body("gpt-4", true),
               {{"x-mock-delay-ms", "100"}, {"x-mock-chunks", "50"}});
    ended = Clock::now();
  });
  int serving = -1;
  const bool started = eventually(
      [&] {
        for (int i = 0; i < 2; ++i) {
          if (stack.mock(i).requests() > before[i]) serving = i;
        }
        return serving >= 0;
      },
      milliseconds(3000), milliseconds(2));
  if (!started) {
    client.join();
    FAIL() << "the stream never reached a backend: " << s.error;
  }
  std::this_thread::sleep_for(milliseconds(350));  // a few frames pass through first
  stack.mock(serving).stop();
  const auto killed_at = Clock::now();
  client.join();

  const double hung_ms = std::chrono::duration<double, std::milli>(ended - killed_at).count();
  EXPECT_LT(hung_ms, 2000.0) << "the client was left hanging after the backend died";
  ASSERT_EQ(s.head.status, 200) << s.error;
  EXPECT_EQ(s.head.header("x-olla-endpoint"), stack.endpoint_name(serving));
  EXPECT_TRUE(s.complete) << "the chunked body must be terminated properly: " << s.error;
  EXPECT_EQ(s.head.body.find("[DONE]"), std::string::npos) << "a dead backend is not a clean end";
  ASSERT_GE(s.frames.size(), 2u) << s.head.body;
  EXPECT_EQ(json::parse(s.frames.front().data.substr(6), nullptr, false)["object"],
            "chat.completion.chunk");
  const auto& last = s.frames.back().data;
  ASSERT_EQ(last.rfind("data: ", 0), 0u) << last;
  auto j = json::parse(last.substr(6), nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << last;
  EXPECT_EQ(j["error"]["type"], "upstream_error");
  EXPECT_EQ(j["error"]["code"], 502);

  // The other endpoint serves on.
  auto r = chat(stack, "gpt-4");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-olla-endpoint"), stack.endpoint_name(1 - serving));
}

TEST(PoolStreaming, FortyHangUpsLeaveEveryBackendHealthy) {
  Stack stack({with_models({"marker-0"}), with_models({"marker-1"})});
  ASSERT_TRUE(ready(stack, 2, 7));
  const auto disconnects_before = stack.mock(0).disconnects() + stack.mock(1).disconnects();

  constexpr int kClients = 40;
  std::vector<StreamResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      results[i] = stream(stack.port(), kChat, chat_body("gpt-4", true),
                          {{"x-mock-delay-ms", "200"}, {"x-mock-chunks", "50"}},
                          /*stop_after_frames=*/1);
    });
  }
  for (auto& c : clients) c.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(results[i].head.status, 200) << "client " << i << ": " << results[i].error;
    EXPECT_EQ(results[i].frames.size(), 1u) << "client " << i << ": " << results[i].error;
  }

  // Every hang-up reached a backend (the gateway closed its upstream connection).
  EXPECT_TRUE(eventually(
      [&] {
        return stack.mock(0).disconnects() + stack.mock(1).disconnects() - disconnects_before >=
               kClients;
      },
      milliseconds(3000)))
      << "backends saw "
      << stack.mock(0).disconnects() + stack.mock(1).disconnects() - disconnects_before
      << " disconnects for " << kClients << " hang-ups";

  // None of that is the backends' fault.
  auto h = health(stack.port());
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.healthy(), 2) << h.body.dump();
  EXPECT_EQ(h.overall(), "healthy") << h.body.dump();

  std::map<std::string, int> by_endpoint;
  for (int i = 0; i < 20; ++i) {
    auto r = chat(stack, "gpt-4");
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    ++by_endpoint[r.header("x-olla-endpoint")];
  }
  EXPECT_EQ(by_endpoint.size(), 2u) << "an endpoint was taken out of rotation by client hang-ups";
  h = health(stack.port());
  EXPECT_EQ(h.healthy(), 2) << h.body.dump();
}

// ---------------------------------------------------------------- health

TEST(PoolHealth, RestartedBackendIsBackWithinTwoIntervals) {
  constexpr int kIntervalMs = 200;
  Stack stack({with_models({"marker-0"}), with_models({"marker-1"})}, "",
              std::to_string(kIntervalMs) + "ms");
  ASSERT_TRUE(ready(stack, 2, 7));
  stack.mock(1).stop();
  ASSERT_TRUE(eventually([&] { return health(stack.port()).healthy() == 1; },
                         milliseconds(3 * kIntervalMs + 500)))
      << "the probes never noticed the stopped backend";

  stack.restart_mock(1);  // a new process on the same port
  const auto restarted_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return health(stack.port()).healthy() == 2; }, milliseconds(5000)))
      << "the restarted backend never came back";
  const double took = ms_since(restarted_at);
  EXPECT_LT(took, 2 * kIntervalMs + 200.0)
      << "healthy again only after " << took << " ms (check_interval " << kIntervalMs << " ms)";

  std::map<std::string, int> by_endpoint;
  for (int i = 0; i < 10; ++i) {
    auto r = chat(stack, "gpt-4");
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    ++by_endpoint[r.header("x-olla-endpoint")];
  }
  EXPECT_GT(by_endpoint["litellm-1"], 0) << "no request reached the restarted backend";
}

TEST(PoolHealth, AllBackendsDownIs503NoHealthyEndpoints) {
  Stack stack({with_models({"marker-0"}), with_models({"marker-1"})});
  ASSERT_TRUE(ready(stack, 2, 7));
  stack.mock(0).stop();
  stack.mock(1).stop();
  ASSERT_TRUE(eventually([&] { return health(stack.port()).status == 503; }, milliseconds(3000)))
      << "the probes never noticed";
  auto h = health(stack.port());
  EXPECT_EQ(h.overall(), "unhealthy");
  EXPECT_EQ(h.healthy(), 0);

  const auto t0 = Clock::now();
  auto r = chat(stack, "gpt-4");
  EXPECT_LT(ms_since(t0), 1000.0);
  expect_gateway_error(r, 503, "no_healthy_endpoints");
  // An unknown model, and a stream, get the same answer.
  expect_gateway_error(chat(stack, "unlisted-model"), 503, "no_healthy_endpoints");
  auto s = stream(stack.port(), kChat, chat_body("gpt-4", true));
  EXPECT_EQ(s.head.status, 503);
  EXPECT_FALSE(s.head.header("x-olla-request-id").empty());
}

TEST(PoolHealth, RateLimitedEndpointWaitsForRetryAfter) {
  Stack stack({with_models({"marker-0"}), with_models({"marker-1"})});
  ASSERT_TRUE(ready(stack, 2, 7));
  stack.mock(0).set_fail_mode("429");  // probes get 429 with retry-after: 7
  ASSERT_TRUE(eventually([&] { return health(stack.port()).healthy() == 1; }, milliseconds(3000)))
      << "the probe never noticed the 429";
  EXPECT_EQ(health(stack.port()).overall(), "degraded");
  for (int i = 0; i < 5; ++i) {
    auto r = chat(stack, "gpt-4");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-1") << "request " << i;
  }

  // It recovers, but said "come back in 7 s": five check intervals later it is still out.
  stack.mock(0).set_fail_mode("");
  const auto cleared_at = Clock::now();
  while (ms_since(cleared_at) < 1200) {
    const auto h = health(stack.port());
    ASSERT_EQ(h.healthy(), 1) << "re-admitted " << ms_since(cleared_at)
                              << " ms after the 429 cleared, before its Retry-After of 7 s";
    std::this_thread::sleep_for(milliseconds(50));
  }
  for (int i = 0; i < 5; ++i) {
    auto r = chat(stack, "gpt-4");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-1") << "request " << i;
  }
}

}  // namespace
}  // namespace olla::test
