// Shared by the libFuzzer targets: an invariant check that crashes (so libFuzzer records the input)
// with a readable message, and small helpers for splitting the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace olla::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at '\n' into at most `max` fields; the last field keeps the rest (newlines too).
inline std::vector<std::string_view> lines(std::string_view in, std::size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    const auto nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  out.push_back(in);
  return out;
}

// The tokens of a Connection value, lower-cased: a plain reference for proxy::connection_lists.
inline std::vector<std::string> connection_tokens(std::string_view value) {
  std::vector<std::string> out;
  std::string token;
  const auto flush = [&] {
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
    if (!token.empty()) out.push_back(token);
    token.clear();
  };
  for (char c : value) {
    if (c == ',') {
      flush();
    } else if (!token.empty() || (c != ' ' && c != '\t')) {
      token += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  flush();
  return out;
}

}  // namespace olla::fuzz
