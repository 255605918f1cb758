#include "olla/proxy/header_rules.hpp"

#include <gtest/gtest.h>

namespace olla::proxy {
namespace {

using namespace std::chrono_literals;

TEST(IsHopByHop, StandardHopHeaders) {
  for (const char* h : {"Connection", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Connection",
                        "Proxy-Authenticate", "Proxy-Authorization"}) {
    EXPECT_TRUE(is_hop_by_hop(h)) << h;
  }
}

TEST(IsHopByHop, CaseInsensitive) {
  for (const char* h : {"connection", "CONNECTION", "kEeP-aLiVe", "te", "Te", "upgrade",
                        "PROXY-AUTHORIZATION", "trailer"}) {
    EXPECT_TRUE(is_hop_by_hop(h)) << h;
  }
}

TEST(IsHopByHop, WholeProxyFamily) {
  EXPECT_TRUE(is_hop_by_hop("Proxy-Foo"));
  EXPECT_TRUE(is_hop_by_hop("proxy-anything-at-all"));
  EXPECT_TRUE(is_hop_by_hop("PROXY-x"));
}

TEST(IsHopByHop, EndToEndHeadersAreKept) {
  for (const char* h : {"Content-Type", "Content-Length", "Transfer-Encoding", "Authorization",
                        "Host", "X-Request-ID", "retry-after", "x-ratelimit-remaining-requests",
                        "x-litellm-model-id", "Proxy", "Proxyfoo", "X-Proxy-Foo", "Trailers",
                        "Connections", "TEE", "", "Upgrade-Insecure-Requests"}) {
    EXPECT_FALSE(is_hop_by_hop(h)) << '"' << h << '"';
  }
}

TEST(ConnectionLists, TokensTrimmedAndCaseInsensitive) {
  const std::string_view v = "close, X-Foo , keep-alive";
  EXPECT_TRUE(connection_lists(v, "x-foo"));
  EXPECT_TRUE(connection_lists(v, "X-FOO"));
  EXPECT_TRUE(connection_lists(v, "Close"));
  EXPECT_TRUE(connection_lists(v, "Keep-Alive"));
  EXPECT_FALSE(connection_lists(v, "X-Fo"));
  EXPECT_FALSE(connection_lists(v, "X-Foo "));
  EXPECT_FALSE(connection_lists(v, "X-Foo , keep-alive"));
}

TEST(ConnectionLists, EmptyPiecesAndWhitespace) {
  EXPECT_FALSE(connection_lists("", ""));
  EXPECT_FALSE(connection_lists(" , ,\t,", ""));
  EXPECT_FALSE(connection_lists("", "Upgrade"));
  EXPECT_TRUE(connection_lists("Upgrade", "upgrade"));
  EXPECT_TRUE(connection_lists(",,a,,\tB\t,,", "A"));
  EXPECT_TRUE(connection_lists(",,a,,\tB\t,,", "b"));
  EXPECT_FALSE(connection_lists(",,a,,\tB\t,,", "a,"));
  EXPECT_TRUE(connection_lists("keep-alive,X-Secret", "x-secret"));
  EXPECT_FALSE(connection_lists("keep-alive X-Secret", "x-secret"));  // one token with a space
}

TEST(AppendForwardedFor, FirstHop) { EXPECT_EQ(append_forwarded_for("", "10.0.0.1"), "10.0.0.1"); }

TEST(AppendForwardedFor, AppendsToChain) {
  EXPECT_EQ(append_forwarded_for("203.0.113.7", "10.0.0.1"), "203.0.113.7, 10.0.0.1");
  EXPECT_EQ(append_forwarded_for("a, b", "::1"), "a, b, ::1");
}

TEST(FormatResponseTime, MillisecondPrecisionWithSuffix) {
  EXPECT_EQ(format_response_time(2341ms), "2.341s");
  EXPECT_EQ(format_response_time(0ms), "0.000s");
  EXPECT_EQ(format_response_time(61005ms), "61.005s");
  EXPECT_EQ(format_response_time(7ms), "0.007s");
  EXPECT_EQ(format_response_time(1s), "1.000s");
  EXPECT_EQ(format_response_time(10min), "600.000s");
}

TEST(FormatResponseTime, SubMillisecondIsTruncated) {
  EXPECT_EQ(format_response_time(999us), "0.000s");
  EXPECT_EQ(format_response_time(2341999us), "2.341s");
}

TEST(IEquals, CaseInsensitiveComparison) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Content-Type", "Content-Typ"));
  EXPECT_FALSE(iequals("abc", "abd"));
}

}  // namespace
}  // namespace olla::proxy

namespace olla::proxy {
namespace {

TEST(IsHeaderSafe, PrintableAsciiOnly) {
  EXPECT_TRUE(is_header_safe("gpt-4"));
  EXPECT_TRUE(is_header_safe("bedrock/claude-3-opus v2"));
  EXPECT_FALSE(is_header_safe("gpt-4\r\nX-Injected: 1"));
  EXPECT_FALSE(is_header_safe(std::string("a\0b", 3)));
  EXPECT_FALSE(is_header_safe("mod\xc3\xa8le"));
  EXPECT_FALSE(is_header_safe(std::string(257, 'a')));
  EXPECT_TRUE(is_header_safe(std::string(256, 'a')));
}

}  // namespace
}  // namespace olla::proxy
