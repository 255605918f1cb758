#include "olla/proxy/request_inspect.hpp"

#include <gtest/gtest.h>

#include <string>

namespace olla::proxy {
namespace {

TEST(ExtractModel, TopLevelModel) {
  EXPECT_EQ(extract_model(R"({"model":"gpt-4","messages":[]})"), "gpt-4");
  EXPECT_EQ(extract_model(R"({"messages":[],"model":"claude-3-opus"})"), "claude-3-opus");
  EXPECT_EQ(extract_model(" \n{ \"model\" : \"bedrock/claude-3-opus\" }\n"),
            "bedrock/claude-3-opus");
}

TEST(ExtractModel, EscapesAreDecoded) {
  EXPECT_EQ(extract_model(R"({"model":"gpt\u002d4"})"), "gpt-4");
  EXPECT_EQ(extract_model(R"({"model":"a\"b"})"), "a\"b");
}

TEST(ExtractModel, NestedModelKeysAreIgnored) {
  EXPECT_EQ(extract_model(R"({"messages":[{"model":"x"}],"model":"gpt-4"})"), "gpt-4");
  EXPECT_EQ(extract_model(R"({"metadata":{"model":"x"},"model":"gpt-4"})"), "gpt-4");
  EXPECT_EQ(extract_model(R"({"a":[[{"model":"x"}]],"b":{"c":{"model":"y"}}})"), "");
  EXPECT_EQ(extract_model(R"({"model":{"model":"x"}})"), "");
}

TEST(ExtractModel, ModelAfterLargeNestedContent) {
  std::string body = R"({"messages":[)";
  for (int i = 0; i < 200; ++i) {
    if (i) body += ',';
    body += R"({"role":"user","content":")" + std::string(1000, 'x') +
            R"(","tool_calls":[{"function":{"arguments":"{\"model\":\"inner\"}"}}],"model":"no"})";
  }
  body += R"(],"temperature":0.7,"stream":true,"nested":[[[[{"k":[1,2,{"model":"deep"}]}]]]],)";
  body += R"("model":"gpt-4o"})";
  ASSERT_GT(body.size(), 200'000u);
  EXPECT_EQ(extract_model(body), "gpt-4o");
}

TEST(ExtractModel, ModelKeyNamedLikeAValueDoesNotCount) {
  EXPECT_EQ(extract_model(R"({"name":"model","other":"gpt-4"})"), "");
  EXPECT_EQ(extract_model(R"(["model","gpt-4"])"), "");
}

TEST(ExtractModel, NonStringModel) {
  EXPECT_EQ(extract_model(R"({"model":42})"), "");
  EXPECT_EQ(extract_model(R"({"model":null})"), "");
  EXPECT_EQ(extract_model(R"({"model":true})"), "");
  EXPECT_EQ(extract_model(R"({"model":["gpt-4"]})"), "");
  EXPECT_EQ(extract_model(R"({"model":{"id":"gpt-4"}})"), "");
}

TEST(ExtractModel, NonStringModelDoesNotLeakToNextValue) {
  // After a non-string "model" value, the next string value must not be taken for it.
  EXPECT_EQ(extract_model(R"({"model":1,"user":"gpt-4"})"), "");
  EXPECT_EQ(extract_model(R"({"model":{},"user":"gpt-4"})"), "");
  EXPECT_EQ(extract_model(R"({"model":[],"user":"gpt-4"})"), "");
}

TEST(ExtractModel, NotJson) {
  EXPECT_EQ(extract_model("not json"), "");
  EXPECT_EQ(extract_model("{model: gpt-4}"), "");
  EXPECT_EQ(extract_model(R"({"model": })"), "");
  EXPECT_EQ(extract_model("model=gpt-4&x=1"), "");
  EXPECT_EQ(extract_model("\"gpt-4\""), "");
  EXPECT_EQ(extract_model("\xff\xfe{"), "");
}

TEST(ExtractModel, TheRestOfTheBodyIsNotRead) {
  // A plain model named first is taken as is; the members after it are the upstream's business.
  EXPECT_EQ(extract_model(R"({"model":"gpt-4","messages":[)"), "gpt-4");
  EXPECT_EQ(extract_model("{ \"model\" :\t\"gpt-4\" }"), "gpt-4");
  EXPECT_EQ(extract_model(R"({"model":"a","model":"b"})"), "a");
  // Not plain (escapes, bytes beyond ASCII) or not a whole member: the parser decides.
  EXPECT_EQ(extract_model(R"({"model":"caf\u00e9"})"), "caf\xc3\xa9");
  EXPECT_EQ(extract_model("{\"model\":\"caf\xc3\xa9\"}"), "caf\xc3\xa9");
  EXPECT_EQ(extract_model("{\"model\":\"caf\xe9\"}"), "") << "not UTF-8";
}

TEST(ExtractModel, EmptyBody) {
  EXPECT_EQ(extract_model(""), "");
  EXPECT_EQ(extract_model("{}"), "");
  EXPECT_EQ(extract_model("   "), "");
}

TEST(ExtractModel, EmptyModelString) { EXPECT_EQ(extract_model(R"({"model":""})"), ""); }

}  // namespace
}  // namespace olla::proxy
