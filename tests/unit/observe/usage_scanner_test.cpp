#include "olla/observe/usage_scanner.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "olla/observe/json_nesting.hpp"

namespace olla::observe {
namespace {

// A LiteLLM chat completion: strings with braces and an escaped "usage" before the real one.
const std::string kChatBody =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"say {\"usage\": {\"prompt_tokens\": 999}} }"},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,)"
    R"("completion_tokens_details":{"reasoning_tokens":0},"prompt_tokens_details":{"cached_tokens":0}},)"
    R"("system_fingerprint":"fp_1"})";

// An OpenAI-style stream with include_usage: "usage":null on every chunk, the figures on the last.
const std::string kStream =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hello } {\"}}],\"usage\":null}\n\n"
    ": keep-alive comment\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":3,\"total_tokens\":20}}\n\n"
    "data: [DONE]\n\n";

std::optional<Usage> scan(std::initializer_list<std::string_view> pieces) {
  UsageScanner s;
  for (auto p : pieces) s.feed(p);
  return s.result();
}

std::optional<Usage> scan(std::string_view body) { return scan({body}); }

TEST(UsageScanner, PlainChatCompletion) { EXPECT_EQ(scan(kChatBody), (Usage{9, 12, 21})); }

TEST(UsageScanner, PlainBodySplitAtEveryByte) {
  for (std::size_t i = 0; i <= kChatBody.size(); ++i) {
    const std::string_view b = kChatBody;
    EXPECT_EQ(scan({b.substr(0, i), b.substr(i)}), (Usage{9, 12, 21})) << "split at " << i;
  }
}

TEST(UsageScanner, PlainBodyInThreePiecesAtEveryPairOfOffsets) {
  const std::string_view b = kChatBody;
  const auto start = b.find("\"usage\":{") - 12;  // around the key, where the state changes
  const auto end = start + 60;
  for (std::size_t i = start; i <= end; ++i) {
    for (std::size_t j = i; j <= end; ++j) {
      EXPECT_EQ(scan({b.substr(0, i), b.substr(i, j - i), b.substr(j)}), (Usage{9, 12, 21}))
          << i << ' ' << j;
    }
  }
}

TEST(UsageScanner, OneByteAtATime) {
  for (const auto& body : {kChatBody, kStream}) {
    UsageScanner s;
    for (char c : body) s.feed(std::string_view(&c, 1));
    EXPECT_TRUE(s.result().has_value()) << body;
  }
}

TEST(UsageScanner, StreamFinalChunk) { EXPECT_EQ(scan(kStream), (Usage{17, 3, 20})); }

TEST(UsageScanner, StreamSplitAtEveryByte) {
  for (std::size_t i = 0; i <= kStream.size(); ++i) {
    const std::string_view b = kStream;
    EXPECT_EQ(scan({b.substr(0, i), b.substr(i)}), (Usage{17, 3, 20})) << "split at " << i;
  }
}

TEST(UsageScanner, StreamInRandomPieces) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    UsageScanner s;
    std::string_view rest = kStream;
    while (!rest.empty()) {
      const auto n = std::min<std::size_t>(rest.size(), 1 + rng() % 40);
      s.feed(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    ASSERT_EQ(s.result(), (Usage{17, 3, 20})) << round;
  }
}

TEST(UsageScanner, StreamWithoutUsage) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(scan(stream), std::nullopt);
}

TEST(UsageScanner, LastUsageWins) {
  // Cumulative per-chunk usage (vLLM's continuous_usage_stats): the last figures count.
  EXPECT_EQ(scan("data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n"
                 "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
                 "data: {\"usage\":null}\n\n"),
            (Usage{5, 2, 7}));
  // A total belongs to its own object: when a later one has none, it is recomputed.
  EXPECT_EQ(scan("data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,"
                 "\"total_tokens\":6}}\n\n"
                 "data: {\"usage\":{\"completion_tokens\":3}}\n\n"),
            (Usage{5, 3, 8}));
}

TEST(UsageScanner, AnthropicStreamFiguresAddUp) {
  const std::string stream =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":"
      "{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    const std::string_view b = stream;
    EXPECT_EQ(scan({b.substr(0, i), b.substr(i)}), (Usage{25, 15, 40})) << "split at " << i;
  }
}

TEST(UsageScanner, ResponsesApiNestedUsage) {
  EXPECT_EQ(scan("event: response.completed\n"
                 "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\","
                 "\"usage\":{\"input_tokens\":7,\"output_tokens\":2,\"total_tokens\":9}}}\n\n"),
            (Usage{7, 2, 9}));
}

TEST(UsageScanner, Embeddings) {
  const std::string body =
      R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]}],)"
      R"("model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}})";
  EXPECT_EQ(scan(body), (Usage{8, 0, 8}));
}

TEST(UsageScanner, PrettyPrinted) {
  EXPECT_EQ(scan("{\n  \"usage\" \t:\r\n  {\n    \"prompt_tokens\": 3,\n"
                 "    \"completion_tokens\": 4\n  }\n}\n"),
            (Usage{3, 4, 7}));
}

TEST(UsageScanner, AnthropicNames) {
  EXPECT_EQ(scan(R"({"type":"message","usage":{"input_tokens":10,"output_tokens":25}})"),
            (Usage{10, 25, 35}));
}

TEST(UsageScanner, NoUsage) {
  EXPECT_EQ(scan(""), std::nullopt);
  EXPECT_EQ(scan(R"({"id":"x","choices":[]})"), std::nullopt);
  EXPECT_EQ(scan(R"({"error":{"message":"bad","type":"invalid_request_error"}})"), std::nullopt);
}

TEST(UsageScanner, UsageNull) { EXPECT_EQ(scan(R"({"id":"x","usage":null})"), std::nullopt); }

TEST(UsageScanner, UsageAsAValueIsNotTheKey) {
  EXPECT_EQ(scan(R"({"object":"usage","n":1})"), std::nullopt);
  EXPECT_EQ(scan(R"(["usage",{"prompt_tokens":1}])"), std::nullopt);
}

TEST(UsageScanner, NullFields) {
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":null,"completion_tokens":5,"total_tokens":null}})"),
            (Usage{0, 5, 5}));
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":null,"completion_tokens":null}})"), std::nullopt);
  EXPECT_EQ(scan(R"({"usage":{}})"), std::nullopt);
}

TEST(UsageScanner, OddNumbers) {
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":-4,"completion_tokens":2.0,"total_tokens":"7"}})"),
            (Usage{0, 2, 2}));
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":1.5}})"), std::nullopt);
}

TEST(UsageScanner, MembersOfEveryKindAreSkippedOver) {
  // Strings with escaped quotes and braces, nested objects and arrays, literals, exponents.
  EXPECT_EQ(scan(R"({"usage":{"note":"a \"}\" {[","prompt_tokens":7,"details":{"x":[1,{"y":"}"}]},)"
                 R"("cached":true,"none":null,"completion_tokens":2e1,"total_tokens":27}})"),
            (Usage{7, 20, 27}));
  EXPECT_EQ(scan(R"({"usage":{ "prompt_tokens" : 3 , "completion_tokens" : 4 }})"),
            (Usage{3, 4, 7}));
}

TEST(UsageScanner, BrokenStructureCountsNothing) {
  for (const char* body : {R"({"usage":{"prompt_tokens":1 "completion_tokens":2}})",
                           R"({"usage":{"prompt_tokens":1,}})", R"({"usage":{prompt_tokens:1}})",
                           R"({"usage":{"prompt_tokens":}})", R"({"usage":{"prompt_tokens"1}})"}) {
    EXPECT_EQ(scan(body), std::nullopt) << body;
  }
}

TEST(UsageScanner, CountsTooLargeOrOddAreAbsent) {
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":99999999999999999999999,"completion_tokens":1}})"),
            (Usage{0, 1, 1}));
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":1e30,"completion_tokens":true}})"), std::nullopt);
}

TEST(UsageScanner, TruncatedBody) {
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":1,"completion_tokens":)"), std::nullopt);
  EXPECT_EQ(scan(R"({"usage":)"), std::nullopt);
}

TEST(UsageScanner, GarbageInsideTheObject) {
  EXPECT_EQ(scan(R"({"usage":{"prompt_tokens":1,,,"x"}})"), std::nullopt);
  // A broken object later does not erase good figures already seen.
  EXPECT_EQ(scan({R"(data: {"usage":{"prompt_tokens":4,"completion_tokens":1}})", "\n\n",
                  R"(data: {"usage":{"prompt_tokens":,}})"}),
            (Usage{4, 1, 5}));
}

TEST(UsageScanner, TooLargeIsGivenUpAndTheNextOneStillCounts) {
  std::string body = R"({"usage":{"prompt_tokens":1,"pad":")";
  body += std::string(UsageScanner::kMaxObjectBytes, 'x');
  body += R"("}})";
  UsageScanner s;
  for (std::size_t i = 0; i < body.size(); i += 1000)
    s.feed(std::string_view(body).substr(i, 1000));
  EXPECT_EQ(s.result(), std::nullopt);
  EXPECT_TRUE(s.gave_up());
  s.feed(R"(data: {"usage":{"prompt_tokens":2,"completion_tokens":3}})");
  EXPECT_EQ(s.result(), (Usage{2, 3, 5}));
}

TEST(UsageScanner, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::string junk(20'000, '\0');
    for (auto& c : junk) c = static_cast<char>(rng() & 0xff);
    UsageScanner s;
    std::string_view rest = junk;
    while (!rest.empty()) {
      const auto n = std::min<std::size_t>(rest.size(), 1 + rng() % 3000);
      s.feed(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    EXPECT_EQ(s.result(), std::nullopt);
  }
}

TEST(UsageScanner, AnObjectLeftOpenIsBounded) {
  // A bogus "usage":{ that never closes swallows at most kMaxObjectBytes, then scanning resumes.
  UsageScanner s;
  s.feed(R"({"usage":{"prompt_tokens":1,"pad":[)");
  const std::string filler(UsageScanner::kMaxObjectBytes, '1');
  s.feed(filler);
  s.feed(R"(]  "usage":{"prompt_tokens":2,"completion_tokens":3}})");
  EXPECT_TRUE(s.gave_up());
  EXPECT_EQ(s.result(), (Usage{2, 3, 5}));
}

}  // namespace
}  // namespace olla::observe

// plain_run lets a caller skip bytes: the depths seen must be those of feeding every byte.
TEST(JsonNesting, SkippingPlainRunsGivesTheSameDepths) {
  for (std::string_view text :
       {R"({"a":1,"b":{"c":[1,2,{"d":"}]{["}]},"e":"x\"}\\"})",
        R"({"prompt_tokens":25,"completion_tokens":5,"details":{"cached":0}})",
        R"(["\\\\\"[",{"k":"{{{{"},[[]]])", R"({"unterminated":"\)"}) {
    olla::observe::JsonNesting every, skipping;
    std::vector<int> a, b;
    for (char c : text) a.push_back(every.feed(c));
    for (std::size_t i = 0; i < text.size();) {
      const auto run = skipping.plain_run(text.data() + i, text.size() - i);
      for (std::size_t k = 0; k < run; ++k) b.push_back(skipping.depth);
      i += run;
      if (i < text.size()) b.push_back(skipping.feed(text[i++]));
    }
    EXPECT_EQ(a, b) << text;
    EXPECT_EQ(every.in_string, skipping.in_string) << text;
  }
}

TEST(JsonNesting, PlainRunStopsAtWhatChangesState) {
  olla::observe::JsonNesting n;
  EXPECT_EQ(n.plain_run("12, 3:{", 7), 6u);  // outside strings: up to the bracket
  n.feed('"');
  EXPECT_EQ(n.plain_run("ab{}[]c\\x", 9), 7u);  // in a string brackets are plain
  n.feed('\\');
  EXPECT_EQ(n.plain_run("\"rest", 5), 0u);  // the escaped byte is fed, not skipped
}
