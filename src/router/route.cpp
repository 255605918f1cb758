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
  if (get && t.path == "/version") return {RouteKind::version, {}};
  return {RouteKind::not_found, {}};
}

}  // namespace olla::router
