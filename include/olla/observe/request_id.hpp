#pragma once

#include <string>
#include <string_view>

namespace olla::observe {

// A client's X-Request-ID is kept when it is 1-128 visible ASCII characters.
bool is_valid_request_id(std::string_view id);

// "req_" + 32 hex digits (128 random bits).
std::string new_request_id();
// The same into `out`, in the room it already has (a connection's string, reused per request).
void new_request_id(std::string& out);

}  // namespace olla::observe
