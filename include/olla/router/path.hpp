#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace olla::router {

// Percent-decodes; nullopt on a malformed escape or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view in);

// True when the path holds a ".." segment, raw or percent-encoded (also behind "\" separators).
// Malformed percent-encoding counts as unsafe.
bool is_traversal(std::string_view path);

struct Target {
  std::string_view path;   // before '?'
  std::string_view query;  // after '?', without it; empty when none
  bool has_query = false;
};

Target split_target(std::string_view target);

}  // namespace olla::router
