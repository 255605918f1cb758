#pragma once

#include <cstddef>

namespace olla::observe {

// JSON's insignificant whitespace (RFC 8259: space, tab, line feed, carriage return).
inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// How deep a JSON text nests ([ and {), fed byte by byte, brackets inside strings (escapes
// included) not counting. Resumable across pieces. The usage scanner uses it to find where an
// object ends, the error enricher to measure how deep a body nests before parsing it.
struct JsonNesting {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;

  // How many of the n bytes at p, from the first, feed() would take without a change of state:
  // in a string all but '"' and '\\' (after an escape, none), outside one all but quotes and
  // brackets. Callers skip those and feed the byte that follows.
  std::size_t plain_run(const char* p, std::size_t n) const {
    if (escaped) return 0;
    std::size_t i = 0;
    if (in_string) {
      while (i < n && p[i] != '"' && p[i] != '\\') ++i;
    } else {
      while (i < n && !is_structural(p[i])) ++i;
    }
    return i;
  }

  // Takes one byte; returns the depth after it.
  int feed(char c) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
    return depth;
  }

 private:
  static bool is_structural(char c) {
    return c == '"' || c == '{' || c == '}' || c == '[' || c == ']';
  }
};

}  // namespace olla::observe
