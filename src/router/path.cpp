#include "olla/router/path.hpp"

#include <cstring>

namespace olla::router {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A ".." segment, with '/' or '\\' as separators.
bool has_dot_dot_segment(std::string_view p) {
  std::size_t start = 0;
  for (std::size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/' || p[i] == '\\') {
      if (i - start == 2 && p[start] == '.' && p[start + 1] == '.') return true;
      start = i + 1;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

bool is_traversal(std::string_view path) {
  // Decoded only when there is something to decode (or a NUL to refuse): most paths are plain,
  // and most have no dot at all (memchr looks at many bytes at once).
  const auto has = [path](char c) { return std::memchr(path.data(), c, path.size()) != nullptr; };
  if (path.empty()) return false;
  if (has('%') || has('\0')) {
    const auto decoded = percent_decode(path);
    return !decoded || has_dot_dot_segment(*decoded);
  }
  return has('.') && has_dot_dot_segment(path);
}

Target split_target(std::string_view target) {
  Target t;
  const auto q = target.find('?');
  if (q == std::string_view::npos) {
    t.path = target;
  } else {
    t.path = target.substr(0, q);
    t.query = target.substr(q + 1);
    t.has_query = true;
  }
  return t;
}

}  // namespace olla::router
