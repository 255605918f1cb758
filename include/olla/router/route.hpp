#pragma once

#include <string>
#include <string_view>

namespace olla::router {

// Where a request goes. The session acts on the kind; only Proxy reaches a backend.
enum class RouteKind {
  proxy,            // ANY /olla/litellm/<rest>  -> a LiteLLM endpoint, upstream sees /<rest>
  models,           // GET /olla/litellm/v1/models, /olla/litellm/models
  provider_health,  // GET /olla/litellm/health
  internal_health,  // GET /internal/health
  internal_status,  // GET /internal/status
  internal_status_endpoints,  // GET /internal/status/endpoints
  internal_status_models,     // GET /internal/status/models
  internal_metrics,           // GET /internal/metrics (Prometheus text)
  version,                    // GET /version
  bad_path,                   // traversal or malformed encoding: 400
  not_found,                  // 404
};

struct Route {
  RouteKind kind = RouteKind::not_found;
  std::string upstream_target;  // for proxy: "/<rest>[?query]"
};

inline constexpr std::string_view kLiteLLMPrefix = "/olla/litellm";

Route route(std::string_view method, std::string_view target);

// The gateway's /internal/* routes, behind the internal access policy.
bool is_internal(RouteKind kind);

}  // namespace olla::router
