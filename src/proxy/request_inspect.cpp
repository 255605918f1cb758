#include "olla/proxy/request_inspect.hpp"

#include "../json/ondemand.hpp"

namespace olla::proxy {

std::string extract_model(std::string_view body) {
  if (body.empty()) return {};
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
