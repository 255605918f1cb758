#pragma once

namespace olla::observe {

// How deep a JSON text nests ([ and {), fed byte by byte, brackets inside strings (escapes
// included) not counting. Resumable across pieces. The usage scanner uses it to find where an
// object ends, the error enricher to measure how deep a body nests before parsing it.
struct JsonNesting {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;

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
};

}  // namespace olla::observe
