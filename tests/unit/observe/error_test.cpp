#include "olla/observe/error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace olla::observe {
namespace {

TEST(ErrorBody, ExactShape) {
  EXPECT_EQ(error_body(404, "not_found_error", "no route for GET /x"),
            R"({"error":{"message":"no route for GET /x","type":"not_found_error","code":404}})");
}

TEST(ErrorBody, CodeIsAnInteger) {
  for (int status : {400, 404, 413, 429, 431, 502, 503, 504}) {
    const auto j = nlohmann::json::parse(error_body(status, "t", "m"));
    ASSERT_TRUE(j.contains("error")) << status;
    ASSERT_TRUE(j["error"]["code"].is_number_integer()) << status;
    EXPECT_EQ(j["error"]["code"].get<int>(), status);
    EXPECT_EQ(j["error"]["type"], "t");
    EXPECT_EQ(j["error"]["message"], "m");
    EXPECT_EQ(j.size(), 1u);
    EXPECT_EQ(j["error"].size(), 3u);
  }
}

TEST(ErrorBody, MessageIsEscaped) {
  const std::string msg = "bad \"path\"\n\\x\t</script>";
  const auto body = error_body(400, "invalid_request_error", msg);
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["error"]["message"].get<std::string>(), msg);
  EXPECT_EQ(body.find('\n'), std::string::npos) << body;
}

TEST(ErrorBody, NonUtf8MessageStillGivesJson) {
  // A request target may hold raw bytes >= 0x80 (Beast accepts them); "no route for <target>"
  // must still become a JSON body instead of throwing.
  std::string body;
  ASSERT_NO_THROW(body = error_body(404, "not_found_error", "no route for /caf\xe9\xff"));
  const auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["error"]["code"], 404);
  const auto msg = j["error"]["message"].get<std::string>();
  EXPECT_EQ(msg.rfind("no route for /caf", 0), 0u) << msg;
  EXPECT_NE(msg.find("\xef\xbf\xbd"), std::string::npos) << msg;  // U+FFFD
}

TEST(StreamErrorFrame, Format) {
  EXPECT_EQ(
      stream_error_frame("upstream connection reset"),
      "data: {\"error\":{\"message\":\"upstream connection reset\",\"type\":\"upstream_error\","
      "\"code\":502}}\n\n");
}

TEST(StreamErrorFrame, OneFrameEvenWithNewlinesInTheMessage) {
  const auto frame = stream_error_frame("line1\nline2");
  ASSERT_EQ(frame.substr(0, 6), "data: ");
  ASSERT_EQ(frame.substr(frame.size() - 2), "\n\n");
  const auto payload = frame.substr(6, frame.size() - 8);
  EXPECT_EQ(payload.find('\n'), std::string::npos) << frame;
  EXPECT_EQ(nlohmann::json::parse(payload)["error"]["message"], "line1\nline2");
  EXPECT_EQ(frame.find("[DONE]"), std::string::npos);
}

TEST(EnrichUpstreamError, AddsProviderAndEndpointKeepingFieldsAndOrderWithNumericCode) {
  const auto out = enrich_upstream_error(
      R"({"error":{"message":"Rate limit exceeded for model gpt-4","type":"rate_limit_error","param":null,"code":"429"}})",
      "openai", "litellm-gateway");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(
      *out,
      R"({"error":{"message":"Rate limit exceeded for model gpt-4","type":"rate_limit_error","param":null,"code":429,"provider":"openai","endpoint":"litellm-gateway"}})");
}

TEST(EnrichUpstreamError, KeepsOtherTopLevelFields) {
  const auto out = enrich_upstream_error(
      R"({"id":"x","error":{"message":"m","code":400},"detail":[1,2.5,{"a":true}]})", "anthropic",
      "ep1");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(
      *out,
      R"({"id":"x","error":{"message":"m","code":400,"provider":"anthropic","endpoint":"ep1"},"detail":[1,2.5,{"a":true}]})");
}

TEST(EnrichUpstreamError, NonNumericCodeIsKept) {
  const auto out = enrich_upstream_error(
      R"({"error":{"message":"m","code":"rate_limit_exceeded"}})", "openai", "ep1");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(
      *out,
      R"({"error":{"message":"m","code":"rate_limit_exceeded","provider":"openai","endpoint":"ep1"}})");
}

TEST(EnrichUpstreamError, NoProviderWhenUnknown) {
  const auto out = enrich_upstream_error(R"({"error":{"message":"m"}})", "", "ep1");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, R"({"error":{"message":"m","endpoint":"ep1"}})");
}

TEST(EnrichUpstreamError, WhitespaceInTheInputIsFine) {
  const auto out =
      enrich_upstream_error("{\n  \"error\": {\"message\": \"m\"}\n}\n", "openai", "e");
  ASSERT_TRUE(out.has_value());
  const auto j = nlohmann::json::parse(*out);
  EXPECT_EQ(j["error"]["provider"], "openai");
  EXPECT_EQ(j["error"]["endpoint"], "e");
  EXPECT_EQ(j["error"]["message"], "m");
}

TEST(EnrichUpstreamError, NonUtf8EndpointNameDoesNotThrow) {
  std::optional<std::string> out;
  ASSERT_NO_THROW(out = enrich_upstream_error(R"({"error":{"message":"m"}})", "", "ep\xff"));
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(nlohmann::json::accept(*out)) << *out;
}

TEST(EnrichUpstreamError, NotAnErrorObjectPassesThrough) {
  for (const char* body :
       {"", "not json", "Internal Server Error", "<html>502</html>", "[]", "null", "42",
        R"({"error":"string error"})", R"({"error":null})", R"({"error":["a"]})",
        R"({"detail":"Not Found"})", R"({"error":{"message":"m"})"}) {
    EXPECT_EQ(enrich_upstream_error(body, "openai", "ep1"), std::nullopt) << body;
  }
}

}  // namespace
}  // namespace olla::observe

namespace olla::observe {
namespace {

// Found while fuzzing: a deeply nested or huge upstream error body must not be re-serialised
// (nlohmann recurses per level; 80k levels overflowed the stack).
TEST(EnrichUpstreamError, DeepOrHugeBodiesPassThroughUnchanged) {
  std::string deep = R"({"error":{"message":"m","x":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}}";
  EXPECT_FALSE(enrich_upstream_error(deep, "openai", "ep").has_value());
  std::string huge = R"({"error":{"message":")" + std::string(70000, 'a') + R"("}})";
  EXPECT_FALSE(enrich_upstream_error(huge, "openai", "ep").has_value());
  // Brackets inside strings are not nesting.
  const std::string quoted =
      R"({"error":{"message":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}})";
  EXPECT_TRUE(enrich_upstream_error(quoted, "openai", "ep").has_value());
}

}  // namespace
}  // namespace olla::observe
