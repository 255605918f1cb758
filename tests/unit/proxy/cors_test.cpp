#include "olla/proxy/cors.hpp"

#include <gtest/gtest.h>

namespace olla::proxy {
namespace {

std::string get(const HeaderList& h, const std::string& name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(Cors, OffByDefault) {
  Cors cors(CorsConfig{});
  EXPECT_FALSE(cors.enabled());
  EXPECT_TRUE(cors.response_headers("https://app.example").empty());
  EXPECT_TRUE(cors.preflight_headers("https://app.example", "").empty());
}

TEST(Cors, WildcardExposesTheOllaHeaders) {
  Cors cors(CorsConfig{true, {"*"}, false, 600});
  const auto h = cors.response_headers("https://app.example");
  EXPECT_EQ(get(h, "Access-Control-Allow-Origin"), "*");
  EXPECT_NE(get(h, "Access-Control-Expose-Headers").find("X-Olla-Request-ID"), std::string::npos);
  EXPECT_NE(get(h, "Access-Control-Expose-Headers").find("X-Olla-Response-Time"),
            std::string::npos);
  EXPECT_TRUE(cors.response_headers("").empty()) << "no Origin, no CORS headers";
}

TEST(Cors, ListedOriginsAreEchoedWithVary) {
  Cors cors(CorsConfig{true, {"https://a.example", "https://b.example"}, false, 60});
  EXPECT_EQ(get(cors.response_headers("https://b.example"), "Access-Control-Allow-Origin"),
            "https://b.example");
  EXPECT_EQ(get(cors.response_headers("https://b.example"), "Vary"), "Origin");
  EXPECT_TRUE(cors.response_headers("https://evil.example").empty());
  EXPECT_TRUE(cors.response_headers("https://a.example\r\nX: y").empty());
}

TEST(Cors, CredentialsNeverPairWithAWildcard) {
  Cors cors(CorsConfig{true, {"*"}, true, 60});
  const auto h = cors.response_headers("https://app.example");
  EXPECT_EQ(get(h, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(get(h, "Access-Control-Allow-Credentials"), "true");
}

TEST(Cors, Preflight) {
  EXPECT_TRUE(Cors::is_preflight("OPTIONS", "https://a", "POST"));
  EXPECT_FALSE(Cors::is_preflight("OPTIONS", "", "POST"));
  EXPECT_FALSE(Cors::is_preflight("OPTIONS", "https://a", ""));
  EXPECT_FALSE(Cors::is_preflight("POST", "https://a", "POST"));
  Cors cors(CorsConfig{true, {"*"}, false, 600});
  const auto h = cors.preflight_headers("https://a", "authorization, content-type");
  EXPECT_EQ(get(h, "Access-Control-Allow-Headers"), "authorization, content-type");
  EXPECT_EQ(get(h, "Access-Control-Max-Age"), "600");
  EXPECT_NE(get(h, "Access-Control-Allow-Methods").find("POST"), std::string::npos);
}

}  // namespace
}  // namespace olla::proxy
