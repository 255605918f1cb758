#include "olla/router/path.hpp"

#include <gtest/gtest.h>

namespace olla::router {
namespace {

TEST(PercentDecode, PlainTextUnchanged) {
  EXPECT_EQ(percent_decode("/v1/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("a+b"), "a+b");  // '+' is not a space in a path
}

TEST(PercentDecode, Escapes) {
  EXPECT_EQ(percent_decode("%41%62c"), "Abc");
  EXPECT_EQ(percent_decode("a%2Fb"), "a/b");
  EXPECT_EQ(percent_decode("a%2fb"), "a/b");
  EXPECT_EQ(percent_decode("%2e%2E"), "..");
  EXPECT_EQ(percent_decode("100%25"), "100%");
  EXPECT_EQ(percent_decode("%20x%20"), " x ");
  EXPECT_EQ(percent_decode("%e2%82%ac"), "\xe2\x82\xac");
}

TEST(PercentDecode, DecodedOnlyOnce) { EXPECT_EQ(percent_decode("%252e"), "%2e"); }

TEST(PercentDecode, MalformedEscapes) {
  for (const char* bad : {"%", "%4", "a%", "a%4", "%zz", "%4g", "%g4", "100%", "%%41", "% 41"}) {
    EXPECT_EQ(percent_decode(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(PercentDecode, NulIsRefused) {
  EXPECT_EQ(percent_decode("%00"), std::nullopt);
  EXPECT_EQ(percent_decode("/a%00b"), std::nullopt);
  EXPECT_EQ(percent_decode(std::string_view("a\0b", 3)), std::nullopt);
}

TEST(IsTraversal, RawDotDotSegments) {
  EXPECT_TRUE(is_traversal("/a/../b"));
  EXPECT_TRUE(is_traversal("/a/.."));
  EXPECT_TRUE(is_traversal("/.."));
  EXPECT_TRUE(is_traversal(".."));
  EXPECT_TRUE(is_traversal("/../etc/passwd"));
  EXPECT_TRUE(is_traversal("/a/b/../../.."));
}

TEST(IsTraversal, PercentEncodedDotDot) {
  EXPECT_TRUE(is_traversal("/%2e%2e/x"));
  EXPECT_TRUE(is_traversal("/%2E%2e/x"));
  EXPECT_TRUE(is_traversal("/%2E%2E/x"));
  EXPECT_TRUE(is_traversal("/.%2e/x"));
  EXPECT_TRUE(is_traversal("/%2e./x"));
  EXPECT_TRUE(is_traversal("/a/%2e%2e"));
}

TEST(IsTraversal, EncodedOrBackslashSeparators) {
  EXPECT_TRUE(is_traversal("/a\\..\\b"));
  EXPECT_TRUE(is_traversal("/a/..\\b"));
  EXPECT_TRUE(is_traversal("/a/%2e%2e%2fb"));
  EXPECT_TRUE(is_traversal("/a%2f..%2fb"));
  EXPECT_TRUE(is_traversal("/a/%2e%2e%5cb"));
}

TEST(IsTraversal, MalformedEncodingIsUnsafe) {
  EXPECT_TRUE(is_traversal("/v1/%zz"));
  EXPECT_TRUE(is_traversal("/v1/%"));
  EXPECT_TRUE(is_traversal("/v1/%00"));
}

TEST(IsTraversal, DotsThatAreNotASegment) {
  for (const char* ok :
       {"/a/..b", "/a/b..", "/v1/models", "/a/./b", "/.", "/...", "/a/...b", "/..a/b", "/a.b/c",
        "/%2e/x", "/", "", "/v1/chat/completions", "/a/%2e%2e%2e/b", "/a/.%2e.b"}) {
    EXPECT_FALSE(is_traversal(ok)) << '"' << ok << '"';
  }
}

TEST(SplitTarget, NoQuery) {
  const Target t = split_target("/v1/models");
  EXPECT_EQ(t.path, "/v1/models");
  EXPECT_EQ(t.query, "");
  EXPECT_FALSE(t.has_query);
}

TEST(SplitTarget, WithQuery) {
  const Target t = split_target("/v1/models?a=1&b");
  EXPECT_EQ(t.path, "/v1/models");
  EXPECT_EQ(t.query, "a=1&b");
  EXPECT_TRUE(t.has_query);
}

TEST(SplitTarget, EmptyQueryIsStillAQuery) {
  const Target t = split_target("/x?");
  EXPECT_EQ(t.path, "/x");
  EXPECT_EQ(t.query, "");
  EXPECT_TRUE(t.has_query);
}

TEST(SplitTarget, OnlyTheFirstQuestionMarkSplits) {
  const Target t = split_target("/x?a=?b");
  EXPECT_EQ(t.path, "/x");
  EXPECT_EQ(t.query, "a=?b");
}

TEST(SplitTarget, QueryOnly) {
  const Target t = split_target("?a");
  EXPECT_EQ(t.path, "");
  EXPECT_EQ(t.query, "a");
  EXPECT_TRUE(t.has_query);
}

}  // namespace
}  // namespace olla::router
