// Live streaming: frames pass through as they are produced, hang-ups reach the backend at once,
// and a backend that dies mid-stream gives the client an error frame, not a clean end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "harness.hpp"

namespace olla::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class Streaming : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(stack.wait_healthy(1)); }
  Stack stack;
};

TEST_F(Streaming, SseFramesWithUsageAndDone) {
  auto s =
      stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true, true));
  ASSERT_EQ(s.head.status, 200) << s.error;
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.head.header("content-type"), "text/event-stream");
  EXPECT_EQ(s.head.header("transfer-encoding"), "chunked");
  EXPECT_EQ(s.head.header("x-olla-model"), "gpt-4");
  EXPECT_EQ(s.head.header("x-olla-endpoint"), "litellm-gateway");
  ASSERT_GE(s.frames.size(), 3u);
  EXPECT_EQ(s.frames.back().data, "data: [DONE]");
  auto usage = json::parse(s.frames[s.frames.size() - 2].data.substr(6));
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_GT(usage["usage"]["total_tokens"].get<int>(), 0);
  std::string text;
  for (const auto& f : s.frames) {
    if (f.data == "data: [DONE]") continue;
    auto j = json::parse(f.data.substr(6));
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content")) {
      text += j["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_FALSE(text.empty());
}

TEST_F(Streaming, FramesArriveAsTheyAreSentNotBatched) {
  // The mock sends frames 200 ms apart; each must reach the client on its own, ~200 ms apart.
  auto s = stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true),
                  {{"x-mock-delay-ms", "200"}, {"x-mock-chunks", "4"}});
  ASSERT_TRUE(s.complete) << s.error;
  ASSERT_GE(s.frames.size(), 6u);
  for (std::size_t i = 1; i < s.frames.size(); ++i) {
    const double gap = s.frames[i].at_ms - s.frames[i - 1].at_ms;
    EXPECT_GT(gap, 120.0) << "frame " << i << " arrived with the one before it (batched)";
    EXPECT_LT(gap, 600.0) << "frame " << i << " was held back";
  }
}

TEST_F(Streaming, TextCompletionStreams) {
  auto s = stream(stack.port(), "/olla/litellm/v1/completions",
                  R"({"model":"gpt-4","prompt":"hi","stream":true})");
  ASSERT_TRUE(s.complete) << s.error;
  EXPECT_EQ(s.frames.back().data, "data: [DONE]");
  EXPECT_EQ(json::parse(s.frames.front().data.substr(6))["object"], "text_completion");
}

TEST_F(Streaming, ClientHangUpReachesTheBackendAtOnce) {
  const auto before = stack.mock().disconnects();
  auto s = stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true),
                  {{"x-mock-delay-ms", "1000"}, {"x-mock-chunks", "20"}}, /*stop_after_frames=*/1);
  const auto closed_at = Clock::now();
  ASSERT_EQ(s.frames.size(), 1u) << s.error;
  const auto deadline = closed_at + std::chrono::seconds(3);
  while (stack.mock().disconnects() == before && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_GT(stack.mock().disconnects(), before) << "the backend never saw the hang-up";
  const auto seen_after = std::chrono::duration_cast<std::chrono::milliseconds>(
      stack.mock().last_disconnect() - closed_at);
  EXPECT_LT(seen_after.count(), 100)
      << "the backend kept generating for " << seen_after.count() << " ms";
  // The hang-up is not the endpoint's fault: it stays healthy and serves the next request.
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 200);
}

TEST_F(Streaming, HangUpWhileWaitingForHeadersReachesTheBackend) {
  const auto before = stack.mock().disconnects();
  std::thread client([&] {
    raw_exchange(
        stack.port(),
        "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-mock-fail: hang\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(chat_body("gpt-4", false).size()) + "\r\n\r\n" +
            chat_body("gpt-4", false),
        std::chrono::milliseconds(300));
  });
  client.join();
  const auto closed_at = Clock::now();
  const auto deadline = closed_at + std::chrono::seconds(3);
  while (stack.mock().disconnects() == before && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GT(stack.mock().disconnects(), before);
}

TEST_F(Streaming, LiteLLMErrorFrameMidStreamPassesThrough) {
  auto s = stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true),
                  {{"x-mock-fail", "midstream"}});
  ASSERT_EQ(s.head.status, 200);
  ASSERT_GE(s.frames.size(), 2u);
  auto last = json::parse(s.frames.back().data.substr(6));
  EXPECT_TRUE(last.contains("error"));
  EXPECT_NE(s.head.body.find("data: [DONE]"), 0u);
  EXPECT_EQ(s.head.body.find("[DONE]"), std::string::npos);
}

TEST_F(Streaming, BackendResetMidStreamGivesAnErrorFrame) {
  auto s = stream(stack.port(), "/olla/litellm/v1/chat/completions", chat_body("gpt-4", true),
                  {{"x-mock-fail", "reset"}});
  ASSERT_EQ(s.head.status, 200);
  EXPECT_TRUE(s.complete) << "the chunked body must be terminated properly: " << s.error;
  ASSERT_GE(s.frames.size(), 2u);
  EXPECT_EQ(s.head.body.find("[DONE]"), std::string::npos);
  ASSERT_EQ(s.frames.back().data.rfind("data: ", 0), 0u);
  auto last = json::parse(s.frames.back().data.substr(6));
  EXPECT_EQ(last["error"]["type"], "upstream_error");
  EXPECT_EQ(last["error"]["code"], 502);
  // The frames before the failure arrived intact.
  auto first = json::parse(s.frames.front().data.substr(6));
  EXPECT_EQ(first["object"], "chat.completion.chunk");
}

}  // namespace
}  // namespace olla::test
