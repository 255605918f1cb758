// Path normalisation and routing: router::route, split_target, is_traversal, percent_decode.
// Input: "<METHOD> <target>" (the first space splits; without one the method is GET).
#include <algorithm>
#include <string>

#include "fuzz_common.hpp"
#include "olla/router/path.hpp"
#include "olla/router/route.hpp"

using namespace olla::router;

namespace {

bool is_get(std::string_view m) { return m == "GET" || m == "HEAD"; }

std::string encode_all(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void check_route(std::string_view method, std::string_view target) {
  const Route r = route(method, target);
  const Target t = split_target(target);
  // split_target loses nothing.
  if (t.has_query) {
    FUZZ_CHECK(std::string(t.path) + "?" + std::string(t.query) == target);
  } else {
    FUZZ_CHECK(t.path == target && t.query.empty());
  }
  const bool traversal = is_traversal(t.path);
  if (traversal) FUZZ_CHECK(r.kind == RouteKind::bad_path);
  if (r.kind == RouteKind::bad_path) {
    FUZZ_CHECK(traversal || t.path.empty() || t.path.front() != '/');
  }
  if (r.kind == RouteKind::proxy) {
    const std::string prefix = std::string(kLiteLLMPrefix) + "/";
    FUZZ_CHECK(target.substr(0, prefix.size()) == prefix);
    // The upstream sees the client's target minus the prefix, byte for byte.
    FUZZ_CHECK(r.upstream_target == target.substr(kLiteLLMPrefix.size()));
    const Target up = split_target(r.upstream_target);
    FUZZ_CHECK(!up.path.empty() && up.path.front() == '/' && up.path != "/");
    // No ".." segment, raw or once decoded (as the upstream decodes it), and no bad escape.
    FUZZ_CHECK(!is_traversal(up.path));
    FUZZ_CHECK(percent_decode(up.path).has_value());
  } else {
    FUZZ_CHECK(r.upstream_target.empty());
  }
  if (is_internal(r.kind)) {
    FUZZ_CHECK(is_get(method));
    FUZZ_CHECK(t.path.substr(0, 10) == "/internal/");
  }
  if (r.kind == RouteKind::models || r.kind == RouteKind::provider_health ||
      r.kind == RouteKind::version) {
    FUZZ_CHECK(is_get(method));
  }
}

void check_decode(std::string_view in) {
  const auto decoded = percent_decode(in);
  if (!decoded) return;
  const auto escapes = static_cast<std::size_t>(std::count(in.begin(), in.end(), '%'));
  FUZZ_CHECK(decoded->size() + 2 * escapes == in.size());
  FUZZ_CHECK(decoded->find('\0') == std::string::npos);
  const auto again = percent_decode(encode_all(*decoded));
  FUZZ_CHECK(again && *again == *decoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = olla::fuzz::as_view(data, size);
  const auto space = in.find(' ');
  const std::string_view method = space == std::string_view::npos ? "GET" : in.substr(0, space);
  const std::string_view target = space == std::string_view::npos ? in : in.substr(space + 1);
  check_route(method, target);
  if (method != "POST") check_route("POST", target);
  check_decode(target);
  (void)is_traversal(in);
  return 0;
}
