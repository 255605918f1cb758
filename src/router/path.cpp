#include "olla/router/path.hpp"

namespace olla::router {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
  // Decoded only when there is something to decode (or a NUL to refuse): most paths are plain.
  std::optional<std::string> decoded;
  std::string_view p = path;
  if (path.find_first_of(std::string_view("%\0", 2)) != std::string_view::npos) {
    decoded = percent_decode(path);
    if (!decoded) return true;
    p = *decoded;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/' || p[i] == '\\') {
      if (i - start == 2 && p.substr(start, 2) == "..") return true;
      start = i + 1;
    }
  }
  return false;
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
