#include "olla/router/route.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace olla::router {

// Readable names in failure messages.
std::ostream& operator<<(std::ostream& os, RouteKind k) {
  switch (k) {
    case RouteKind::proxy:
      return os << "proxy";
    case RouteKind::models:
      return os << "models";
    case RouteKind::provider_health:
      return os << "provider_health";
    case RouteKind::internal_health:
      return os << "internal_health";
    case RouteKind::internal_status:
      return os << "internal_status";
    case RouteKind::internal_status_endpoints:
      return os << "internal_status_endpoints";
    case RouteKind::internal_status_models:
      return os << "internal_status_models";
    case RouteKind::internal_metrics:
      return os << "internal_metrics";
    case RouteKind::version:
      return os << "version";
    case RouteKind::bad_path:
      return os << "bad_path";
    case RouteKind::not_found:
      return os << "not_found";
  }
  return os << "?";
}

namespace {

void expect_proxy(std::string_view method, std::string_view target, std::string_view upstream) {
  const Route r = route(method, target);
  EXPECT_EQ(r.kind, RouteKind::proxy) << method << ' ' << target;
  EXPECT_EQ(r.upstream_target, upstream) << method << ' ' << target;
}

void expect_kind(std::string_view method, std::string_view target, RouteKind kind) {
  const Route r = route(method, target);
  EXPECT_EQ(r.kind, kind) << method << ' ' << target;
  EXPECT_EQ(r.upstream_target, "") << method << ' ' << target;
}

TEST(Route, ProxyStripsPrefix) {
  expect_proxy("POST", "/olla/litellm/v1/chat/completions", "/v1/chat/completions");
  expect_proxy("POST", "/olla/litellm/v1/completions", "/v1/completions");
  expect_proxy("POST", "/olla/litellm/v1/embeddings", "/v1/embeddings");
  expect_proxy("GET", "/olla/litellm/v1/models/gpt-4", "/v1/models/gpt-4");
  expect_proxy("DELETE", "/olla/litellm/x", "/x");
}

TEST(Route, ProxyKeepsQueryString) {
  expect_proxy("GET", "/olla/litellm/v1/chat/completions?foo=bar&baz",
               "/v1/chat/completions?foo=bar&baz");
  expect_proxy("GET", "/olla/litellm/spend/logs?api_key=sk-1&start_date=2024-01-01",
               "/spend/logs?api_key=sk-1&start_date=2024-01-01");
  expect_proxy("GET", "/olla/litellm/x?", "/x?");
}

TEST(Route, ProxyKeepsEncodingAsSent) {
  expect_proxy("GET", "/olla/litellm/v1/models/bedrock%2Fclaude-3",
               "/v1/models/bedrock%2Fclaude-3");
}

TEST(Route, ModelsAnsweredByTheGateway) {
  expect_kind("GET", "/olla/litellm/v1/models", RouteKind::models);
  expect_kind("GET", "/olla/litellm/models", RouteKind::models);
  expect_kind("HEAD", "/olla/litellm/v1/models", RouteKind::models);
  expect_kind("GET", "/olla/litellm/v1/models?limit=5", RouteKind::models);
}

TEST(Route, NonGetToModelsIsProxied) {
  expect_proxy("POST", "/olla/litellm/v1/models", "/v1/models");
  expect_proxy("POST", "/olla/litellm/models", "/models");
}

TEST(Route, ProviderHealth) {
  expect_kind("GET", "/olla/litellm/health", RouteKind::provider_health);
  expect_proxy("POST", "/olla/litellm/health", "/health");
}

TEST(Route, LiteLLMProbesArePassedThrough) {
  expect_proxy("GET", "/olla/litellm/health/readiness", "/health/readiness");
  expect_proxy("GET", "/olla/litellm/health/liveness", "/health/liveness");
  expect_proxy("GET", "/olla/litellm/health/liveliness", "/health/liveliness");
}

TEST(Route, ManagementRoutesArePassedThrough) {
  expect_proxy("POST", "/olla/litellm/key/generate", "/key/generate");
  expect_proxy("GET", "/olla/litellm/key/info?key=sk-1", "/key/info?key=sk-1");
  expect_proxy("GET", "/olla/litellm/user/info", "/user/info");
  expect_proxy("GET", "/olla/litellm/team/info", "/team/info");
  expect_proxy("GET", "/olla/litellm/spend/calculate", "/spend/calculate");
  expect_proxy("GET", "/olla/litellm/model/info", "/model/info");
}

TEST(Route, GatewayOwnEndpoints) {
  expect_kind("GET", "/internal/health", RouteKind::internal_health);
  expect_kind("GET", "/internal/status", RouteKind::internal_status);
  expect_kind("GET", "/internal/status/endpoints", RouteKind::internal_status_endpoints);
  expect_kind("GET", "/internal/status/models", RouteKind::internal_status_models);
  expect_kind("GET", "/internal/metrics", RouteKind::internal_metrics);
  expect_kind("POST", "/internal/metrics", RouteKind::not_found);
  EXPECT_TRUE(is_internal(RouteKind::internal_metrics));
  EXPECT_TRUE(is_internal(RouteKind::internal_health));
  EXPECT_FALSE(is_internal(RouteKind::version));
  EXPECT_FALSE(is_internal(RouteKind::proxy));
  expect_kind("GET", "/version", RouteKind::version);
}

TEST(Route, NotFound) {
  expect_kind("GET", "/", RouteKind::not_found);
  expect_kind("GET", "/olla/litellmx/v1/models", RouteKind::not_found);
  expect_kind("POST", "/olla/litellmx/v1/chat/completions", RouteKind::not_found);
  expect_kind("GET", "/olla/litellm", RouteKind::not_found);
  expect_kind("GET", "/olla/litellm/", RouteKind::not_found);
  expect_kind("GET", "/olla/ollama/api/tags", RouteKind::not_found);
  expect_kind("GET", "/v1/models", RouteKind::not_found);
  expect_kind("GET", "/internal/healthz", RouteKind::not_found);
  expect_kind("GET", "/versions", RouteKind::not_found);
  expect_kind("GET", "/OLLA/LITELLM/v1/models", RouteKind::not_found);
}

TEST(Route, TraversalIsABadPath) {
  expect_kind("GET", "/olla/litellm/../etc/passwd", RouteKind::bad_path);
  expect_kind("POST", "/olla/litellm/v1/../../admin", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/%2e%2e/x", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/v1/%2E%2e/key/generate", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/v1/.%2e/x", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/a%2f..%2fb", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/a\\..\\b", RouteKind::bad_path);
  expect_kind("GET", "/olla/../internal/health", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/v1/models/..", RouteKind::bad_path);
}

TEST(Route, MalformedTargetIsABadPath) {
  expect_kind("GET", "/olla/litellm/v1/%zz", RouteKind::bad_path);
  expect_kind("GET", "/olla/litellm/v1/%00", RouteKind::bad_path);
  expect_kind("GET", "", RouteKind::bad_path);
  expect_kind("OPTIONS", "*", RouteKind::bad_path);
  expect_kind("GET", "olla/litellm/v1/models", RouteKind::bad_path);
}

TEST(Route, DotsInTheQueryAreNotTraversal) {
  expect_proxy("GET", "/olla/litellm/v1/files?path=../x", "/v1/files?path=../x");
}

}  // namespace
}  // namespace olla::router
