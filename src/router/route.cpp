#include "olla/router/route.hpp"

#include "olla/router/path.hpp"

namespace olla::router {

Route route(std::string_view method, std::string_view target) {
  const Target t = split_target(target);
  if (t.path.empty() || t.path.front() != '/') return {RouteKind::bad_path, {}};
  if (is_traversal(t.path)) return {RouteKind::bad_path, {}};
  const bool get = method == "GET" || method == "HEAD";

  if (t.path.substr(0, kLiteLLMPrefix.size()) == kLiteLLMPrefix &&
      t.path.size() > kLiteLLMPrefix.size() && t.path[kLiteLLMPrefix.size()] == '/') {
    const std::string_view rest = t.path.substr(kLiteLLMPrefix.size());
    if (get && (rest == "/v1/models" || rest == "/models")) return {RouteKind::models, {}};
    if (get && rest == "/health") return {RouteKind::provider_health, {}};
    if (rest == "/") return {RouteKind::not_found, {}};
    std::string upstream(rest);
    if (t.has_query) {
      upstream += '?';
      upstream += t.query;
    }
    return {RouteKind::proxy, std::move(upstream)};
  }
  if (get && t.path == "/internal/health") return {RouteKind::internal_health, {}};
  if (get && t.path == "/internal/status") return {RouteKind::internal_status, {}};
  if (get && t.path == "/internal/status/endpoints")
    return {RouteKind::internal_status_endpoints, {}};
  if (get && t.path == "/internal/status/models") return {RouteKind::internal_status_models, {}};
  if (get && t.path == "/internal/metrics") return {RouteKind::internal_metrics, {}};
  if (get && t.path == "/version") return {RouteKind::version, {}};
  return {RouteKind::not_found, {}};
}

bool is_internal(RouteKind kind) {
  switch (kind) {
    case RouteKind::internal_health:
    case RouteKind::internal_status:
    case RouteKind::internal_status_endpoints:
    case RouteKind::internal_status_models:
    case RouteKind::internal_metrics:
      return true;
    default:
      return false;
  }
}

}  // namespace olla::router
