#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace olla::proxy {

// Hop-by-hop headers (RFC 9110 7.6.1) plus the legacy Proxy-* family. Case-insensitive.
bool is_hop_by_hop(std::string_view name);

// Whether a Connection header value lists `name` (its comma-separated tokens, spaces trimmed,
// compared case-insensitively): a listed header is hop-by-hop for that message and is not
// forwarded. ("close" and "keep-alive" count as tokens too; they name no header that is kept.)
// Nothing is allocated: it runs for each field of each message.
bool connection_lists(std::string_view connection_value, std::string_view name);

// "X-Forwarded-For" after adding the peer: "a, b" + peer.
std::string append_forwarded_for(std::string_view existing, std::string_view peer);

// Seconds with millisecond precision and an "s" suffix, as in the seed page: "2.341s".
std::string format_response_time(std::chrono::nanoseconds elapsed);

bool iequals(std::string_view a, std::string_view b);

// True when a value taken from a request body may be written into a response header as is:
// printable ASCII and spaces only, at most 256 bytes (no CR/LF header injection, no UTF-8).
bool is_header_safe(std::string_view value);

}  // namespace olla::proxy
