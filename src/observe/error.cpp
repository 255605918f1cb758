#include "olla/observe/error.hpp"

#include <nlohmann/json.hpp>

namespace olla::observe {

std::string error_body(int status, std::string_view type, std::string_view message) {
  nlohmann::ordered_json j;
  j["error"] = {{"message", message}, {"type", type}, {"code", status}};
  return j.dump();
}

std::string stream_error_frame(std::string_view message) {
  return "data: " + error_body(502, "upstream_error", message) + "\n\n";
}

std::optional<std::string> enrich_upstream_error(std::string_view body, std::string_view provider,
                                                 std::string_view endpoint) {
  auto j = nlohmann::ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("error");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  if (!provider.empty()) (*it)["provider"] = provider;
  (*it)["endpoint"] = endpoint;
  return j.dump();
}

}  // namespace olla::observe
