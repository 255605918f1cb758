#include "olla/proxy/cors.hpp"

#include <algorithm>

namespace olla::proxy {
namespace {

constexpr std::string_view kExposed =
    "X-Olla-Endpoint, X-Olla-Backend-Type, X-Olla-Model, X-Olla-Request-ID, X-Olla-Response-Time, "
    "Retry-After, X-Request-ID";

bool visible_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

bool Cors::is_preflight(std::string_view method, std::string_view origin,
                        std::string_view request_method) {
  return method == "OPTIONS" && !origin.empty() && !request_method.empty();
}

bool Cors::allowed(std::string_view origin) const {
  if (!cfg_.enabled || origin.empty() || !visible_ascii(origin)) return false;
  return std::any_of(cfg_.allowed_origins.begin(), cfg_.allowed_origins.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

HeaderList Cors::response_headers(std::string_view origin) const {
  if (!allowed(origin)) return {};
  // A wildcard with credentials is not allowed by browsers: echo the origin then.
  const bool wildcard = !cfg_.allow_credentials &&
                        std::find(cfg_.allowed_origins.begin(), cfg_.allowed_origins.end(), "*") !=
                            cfg_.allowed_origins.end();
  HeaderList h;
  h.emplace_back("Access-Control-Allow-Origin", wildcard ? "*" : std::string(origin));
  if (!wildcard) h.emplace_back("Vary", "Origin");
  if (cfg_.allow_credentials) h.emplace_back("Access-Control-Allow-Credentials", "true");
  h.emplace_back("Access-Control-Expose-Headers", std::string(kExposed));
  return h;
}

HeaderList Cors::preflight_headers(std::string_view origin,
                                   std::string_view request_headers) const {
  if (!allowed(origin)) return {};
  HeaderList h = response_headers(origin);
  h.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  h.emplace_back("Access-Control-Allow-Headers",
                 !request_headers.empty() && visible_ascii(request_headers)
                     ? std::string(request_headers)
                     : "Authorization, Content-Type, X-Request-ID");
  h.emplace_back("Access-Control-Max-Age", std::to_string(cfg_.max_age_seconds));
  return h;
}

}  // namespace olla::proxy
