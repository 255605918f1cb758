#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace olla::observe {

// The gateway's own error body: {"error":{"message":..,"type":..,"code":<status>}}.
std::string error_body(int status, std::string_view type, std::string_view message);

// The SSE frame sent when an upstream dies mid-stream (no trailing [DONE]).
std::string stream_error_frame(std::string_view message);

// A LiteLLM error body with error.provider and error.endpoint added. nullopt when the body is not
// a JSON object holding an "error" object (it then passes through unchanged).
std::optional<std::string> enrich_upstream_error(std::string_view body, std::string_view provider,
                                                 std::string_view endpoint);

}  // namespace olla::observe
