#pragma once

#include <string>
#include <string_view>

namespace olla::proxy {

// The top-level "model" of a JSON request body: the members are read in order until the first
// "model" holding a string, and the rest of the body is not looked at. "" when absent, not a
// string, or the body is not JSON up to there. The usual body names the model first, as a plain
// string, and is read with no parser; any other goes through simdjson's on-demand parser (which
// stops at the key: no document is built).
std::string extract_model(std::string_view body);

}  // namespace olla::proxy
