#include "olla/proxy/request_inspect.hpp"

#include <optional>

#include "../json/ondemand.hpp"
#include "olla/observe/json_nesting.hpp"

namespace olla::proxy {

namespace {

// `{"model": "<printable ASCII, no escapes>"` followed by `,` or `}`, spaces allowed between: the
// model's bytes; else nullopt (simdjson decides).
std::optional<std::string_view> leading_model(std::string_view b) {
  constexpr std::string_view kKey = "\"model\"";
  std::size_t i = 0;
  const auto space = [&] {
    while (i < b.size() && observe::is_json_space(b[i])) ++i;
  };
  space();
  if (i == b.size() || b[i++] != '{') return std::nullopt;
  space();
  if (b.compare(i, kKey.size(), kKey) != 0) return std::nullopt;
  i += kKey.size();
  space();
  if (i == b.size() || b[i++] != ':') return std::nullopt;
  space();
  if (i == b.size() || b[i++] != '"') return std::nullopt;
  const std::size_t start = i;
  while (i < b.size() && b[i] >= 0x20 && b[i] <= 0x7e && b[i] != '"' && b[i] != '\\') ++i;
  if (i == b.size() || b[i] != '"') return std::nullopt;
  const auto model = b.substr(start, i - start);
  ++i;
  space();
  if (i == b.size() || (b[i] != ',' && b[i] != '}')) return std::nullopt;
  return model;
}

}  // namespace

std::string extract_model(std::string_view body) {
  if (body.empty()) return {};
  if (const auto model = leading_model(body)) return std::string(*model);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object top;
  if (json::iterate(body).get(doc) || doc.get_object().get(top)) return {};
  // Fields in order until the first top-level "model" holding a string; the rest of the body is
  // never read. Any error (not JSON, not an object, broken before the key) means no model.
  for (auto field : top) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return {};
    if (key != "model") continue;
    std::string_view model;
    if (!field.value().get_string().get(model)) return std::string(model);
  }
  return {};
}

}  // namespace olla::proxy
