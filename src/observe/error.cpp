#include "olla/observe/error.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "olla/observe/json_nesting.hpp"

namespace olla::observe {
namespace {

// The deepest nesting of [ and { outside strings.
int nesting_depth(std::string_view body) {
  JsonNesting nesting;
  int deepest = 0;
  for (char c : body) deepest = std::max(deepest, nesting.feed(c));
  return deepest;
}

// Messages can quote a request target, which may hold bytes that are not UTF-8: replace them
// (U+FFFD) rather than let dump() throw on the request path.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string error_body(int status, std::string_view type, std::string_view message) {
  nlohmann::ordered_json j;
  j["error"] = {{"message", message}, {"type", type}, {"code", status}};
  return dump(j);
}

std::string stream_error_frame(std::string_view message) {
  return "data: " + error_body(502, "upstream_error", message) + "\n\n";
}

std::optional<std::string> enrich_upstream_error(std::string_view body, std::string_view provider,
                                                 std::string_view endpoint) {
  // A hostile or broken upstream must not cost the worker: bodies over 64 KiB or nested deeper
  // than 32 levels pass through unchanged (nlohmann recurses per level when dumping).
  if (body.size() > 64 * 1024 || nesting_depth(body) > 32) return std::nullopt;
  auto j = nlohmann::ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("error");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  // LiteLLM writes the status as a string ("429"); the seed's shape has it as a number.
  if (auto code = it->find("code"); code != it->end() && code->is_string()) {
    const auto& text = code->get_ref<const std::string&>();
    if (!text.empty() && text.size() <= 3 &&
        text.find_first_not_of("0123456789") == std::string::npos) {
      *code = std::stoi(text);
    }
  }
  if (!provider.empty()) (*it)["provider"] = provider;
  (*it)["endpoint"] = endpoint;
  return dump(j);
}

}  // namespace olla::observe
