#pragma once

#include <string>
#include <string_view>

namespace olla::proxy {

// The top-level "model" of a JSON request body, read with simdjson's on-demand parser, which stops
// at the key (no document is built). "" when absent, not a string, or the body is not JSON.
std::string extract_model(std::string_view body);

}  // namespace olla::proxy
