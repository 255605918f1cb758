#pragma once
// simdjson's on-demand parser for the request path (Beast-free, internal to olla_core).

#include <simdjson.h>

#include <string>
#include <string_view>

namespace olla::json {

// Starts an on-demand parse of `text` with the calling thread's parser. simdjson reads up to
// SIMDJSON_PADDING bytes past the end of its input, so it parses a padded copy. The document is
// valid until the next call on the same thread.
inline simdjson::simdjson_result<simdjson::ondemand::document> iterate(std::string_view text) {
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string copy;
  copy.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  copy.assign(text);
  return parser.iterate(simdjson::padded_string_view(copy.data(), copy.size(), copy.capacity()));
}

}  // namespace olla::json
