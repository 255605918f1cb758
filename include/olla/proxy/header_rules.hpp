#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace olla::proxy {

// Hop-by-hop headers (RFC 9110 7.6.1) plus the legacy Proxy-* family. Case-insensitive.
bool is_hop_by_hop(std::string_view name);

// The header names listed in a Connection header value, lower-cased ("close" and "keep-alive"
// included; they name no header and removing them is harmless).
std::vector<std::string> connection_tokens(std::string_view connection_value);

// Whether a header named `name` is listed in `tokens` (connection_tokens() of a Connection
// header): a listed header is hop-by-hop for that message and is not forwarded.
bool is_listed(const std::vector<std::string>& tokens, std::string_view name);

// "X-Forwarded-For" after adding the peer: "a, b" + peer.
std::string append_forwarded_for(std::string_view existing, std::string_view peer);

// Seconds with millisecond precision and an "s" suffix, as in the seed page: "2.341s".
std::string format_response_time(std::chrono::nanoseconds elapsed);

bool iequals(std::string_view a, std::string_view b);

// True when a value taken from a request body may be written into a response header as is:
// printable ASCII and spaces only, at most 256 bytes (no CR/LF header injection, no UTF-8).
bool is_header_safe(std::string_view value);

}  // namespace olla::proxy
