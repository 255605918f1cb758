#pragma once

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "olla/config/config.hpp"

namespace olla::proxy {

// The Host header for the endpoint: host, with the port unless it is the scheme's default.
std::string host_header(const config::EndpointConfig& ep);

using request_t = boost::beast::http::request<boost::beast::http::buffer_body>;

// The header of the request olla sends upstream for `in`: hop-by-hop and Connection-listed
// headers dropped, framing set from what the parser decoded (never copied: request smuggling),
// Host the endpoint's, the endpoint's credentials and headers where the client sent none,
// X-Request-ID and X-Forwarded-*. The session and the request fuzz target both build it here.
request_t upstream_request(const request_t& in, const config::EndpointConfig& ep,
                           std::string_view target, bool chunked,
                           boost::optional<std::uint64_t> content_length,
                           std::string_view request_id, std::string_view peer);

}  // namespace olla::proxy
