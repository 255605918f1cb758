#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace olla::proxy {

// Parses an HTTP/1 message (Beast's parser, so the same grammar, limits and framing as
// http::request_parser / response_parser) into a head that costs no allocation per field: the
// start line's parts and each field's name and value are copied into one string the connection
// keeps between messages, and read as views once the head is complete. http::parser builds a
// basic_fields instead, one allocation and one insert into a case-insensitive ordered set per
// field, for a head the gateway walks once or twice. The body goes into the caller's buffer, as
// with http::buffer_body (body_buffer, body_room). Fields are kept in the order they came (a
// chunked body's trailer fields are not kept).
template <bool isRequest>
class HeadParser : public boost::beast::http::basic_parser<isRequest> {
 public:
  struct Field {
    boost::beast::http::field name;  // field::unknown for names Beast has no code for
    std::string_view name_string;
    std::string_view value;
  };

  // What a connection keeps between messages so that parsing one allocates nothing.
  struct Storage {
    std::string bytes;  // the start line's parts, then each field's name and value
    std::vector<Field> fields;
    struct Span {
      boost::beast::http::field name;
      std::size_t name_at, name_size, value_at, value_size;
    };
    std::vector<Span> spans;  // where the fields are in `bytes` while it may still grow
  };

  explicit HeadParser(Storage& storage);

  // Valid once the header is done.
  int version() const { return version_; }
  const std::vector<Field>& fields() const { return s_.fields; }
  // The value of the first field with this code; empty when there is none.
  std::string_view value_of(boost::beast::http::field name) const;
  // Requests.
  boost::beast::http::verb method() const { return method_; }
  std::string_view method_string() const { return first_; }
  std::string_view target() const { return second_; }
  // Responses.
  int status() const { return status_; }
  std::string_view reason() const { return first_; }

  // Where the next body bytes go (nullptr: nowhere yet; put() then says need_buffer), and how
  // much of that room is left.
  void body_buffer(char* data, std::size_t size) {
    body_ = data;
    room_ = size;
  }
  std::size_t body_room() const { return room_; }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  std::size_t keep(string_view s);
  std::size_t take_body(string_view body, error_code& ec);

  void on_request_impl(boost::beast::http::verb method, string_view method_string,
                       string_view target, int version, error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override {
    return take_body(body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return take_body(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  Storage& s_;
  bool header_done_ = false;
  int version_ = 0;
  int status_ = 0;
  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  std::size_t first_size_ = 0, second_size_ = 0;  // method and target, or reason and nothing
  std::string_view first_, second_;
  char* body_ = nullptr;
  std::size_t room_ = 0;
};

using RequestParser = HeadParser<true>;
using ResponseParser = HeadParser<false>;

extern template class HeadParser<true>;
extern template class HeadParser<false>;

}  // namespace olla::proxy
