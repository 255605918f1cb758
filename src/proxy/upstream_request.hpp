#pragma once

#include <boost/optional.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "head_parser.hpp"
#include "olla/config/config.hpp"

namespace olla::proxy {

// The Host header for the endpoint: host, with the port unless it is the scheme's default.
std::string host_header(const config::EndpointConfig& ep);

using request_t = RequestParser;  // the client's request, its head parsed

// How the body of the upstream request is framed. A body read whole (up to max_inspect_bytes)
// goes with its length, even when the client sent it chunked; a larger one keeps the client's
// framing and is streamed.
struct BodyFraming {
  enum class Kind { none, length, chunked } kind = Kind::none;
  std::uint64_t length = 0;
};
BodyFraming request_framing(bool body_complete, std::size_t buffered, bool chunked,
                            boost::optional<std::uint64_t> content_length);

// Writes into `out` (cleared first) the head of the request olla sends upstream for `in`:
// hop-by-hop and Connection-listed headers dropped, framing from `framing` (the client's
// Content-Length and Transfer-Encoding are never copied: request smuggling), Host the
// endpoint's, the endpoint's credentials and headers where the client sent none, X-Request-ID
// and X-Forwarded-*. The session and the request fuzz target both build it here.
void write_upstream_request(std::string& out, const request_t& in, const config::EndpointConfig& ep,
                            std::string_view target, BodyFraming framing,
                            std::string_view request_id, std::string_view peer);

}  // namespace olla::proxy
