#pragma once

#include <string>

#include "../server/net.hpp"
#include "olla/config/config.hpp"
#include "upstream_stream.hpp"

namespace olla::proxy {

struct ClientResponse {
  net::error_code ec;  // transport failure or timeout; status is 0 then
  int status = 0;
  std::string body;
  std::string retry_after;
};

// One GET on a fresh connection (TLS when `tls` is given) with the endpoint's credentials and
// headers: health probes and model discovery.
net::task<ClientResponse> http_get(const config::EndpointConfig& ep, net::asio::ssl::context* tls,
                                   std::string target, config::Duration timeout,
                                   std::size_t body_limit = 16u << 20);

}  // namespace olla::proxy
