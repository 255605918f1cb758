#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace olla::proxy {

struct CorsConfig {
  bool enabled = false;
  std::vector<std::string> allowed_origins = {"*"};  // exact origins, or "*"
  bool allow_credentials = false;
  int max_age_seconds = 600;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// CORS for browser clients, off by default. Beast-free: the session copies the headers out.
class Cors {
 public:
  explicit Cors(CorsConfig cfg) : cfg_(std::move(cfg)) {}

  bool enabled() const { return cfg_.enabled; }

  // A preflight: OPTIONS with Origin and Access-Control-Request-Method. The gateway answers it.
  static bool is_preflight(std::string_view method, std::string_view origin,
                           std::string_view request_method);

  // Headers for an actual response to `origin` (empty when CORS is off, the request has no
  // Origin, or the origin is not allowed). The X-Olla-* headers are exposed to scripts.
  HeaderList response_headers(std::string_view origin) const;

  // Headers for the 204 answer to a preflight (empty when the origin is not allowed).
  HeaderList preflight_headers(std::string_view origin, std::string_view request_headers) const;

 private:
  bool allowed(std::string_view origin) const;
  CorsConfig cfg_;
};

}  // namespace olla::proxy
