#include "head_parser.hpp"

#include <algorithm>
#include <cstring>

namespace olla::proxy {

namespace http = boost::beast::http;

template <bool isRequest>
HeadParser<isRequest>::HeadParser(Storage& storage) : s_(storage) {
  s_.bytes.clear();
  s_.fields.clear();
  s_.spans.clear();
}

template <bool isRequest>
std::size_t HeadParser<isRequest>::keep(string_view s) {
  const auto at = s_.bytes.size();
  s_.bytes.append(s.data(), s.size());
  return at;
}

template <bool isRequest>
std::string_view HeadParser<isRequest>::value_of(http::field name) const {
  for (const auto& f : s_.fields) {
    if (f.name == name) return f.value;
  }
  return {};
}

template <bool isRequest>
void HeadParser<isRequest>::on_request_impl(http::verb method, string_view method_string,
                                            string_view target, int version, error_code&) {
  method_ = method;
  version_ = version;
  keep(method_string);  // at 0
  first_size_ = method_string.size();
  keep(target);
  second_size_ = target.size();
}

template <bool isRequest>
void HeadParser<isRequest>::on_response_impl(int code, string_view reason, int version,
                                             error_code&) {
  status_ = code;
  version_ = version;
  keep(reason);  // at 0
  first_size_ = reason.size();
}

template <bool isRequest>
void HeadParser<isRequest>::on_field_impl(http::field name, string_view name_string,
                                          string_view value, error_code&) {
  // Trailer fields of a chunked body come after the head is complete and its views are taken:
  // they are not kept (the relay writes its own last chunk, without trailers), and `bytes` must
  // not grow under those views.
  if (header_done_) return;
  const auto name_at = keep(name_string);
  const auto value_at = keep(value);
  s_.spans.push_back({name, name_at, name_string.size(), value_at, value.size()});
}

template <bool isRequest>
void HeadParser<isRequest>::on_header_impl(error_code&) {
  header_done_ = true;
  const std::string_view bytes = s_.bytes;
  first_ = bytes.substr(0, first_size_);
  second_ = bytes.substr(first_size_, second_size_);
  s_.fields.reserve(s_.spans.size());
  for (const auto& sp : s_.spans) {
    s_.fields.push_back({sp.name, bytes.substr(sp.name_at, sp.name_size),
                         bytes.substr(sp.value_at, sp.value_size)});
  }
}

// As http::buffer_body's reader: what fits in the caller's buffer, need_buffer for the rest.
template <bool isRequest>
std::size_t HeadParser<isRequest>::take_body(string_view body, error_code& ec) {
  if (!body_) {
    ec = http::error::need_buffer;
    return 0;
  }
  const auto n = std::min(room_, body.size());
  if (n) std::memcpy(body_, body.data(), n);
  body_ += n;
  room_ -= n;
  if (n < body.size()) ec = http::error::need_buffer;
  return n;
}

template class HeadParser<true>;
template class HeadParser<false>;

}  // namespace olla::proxy
