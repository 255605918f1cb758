#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace olla::proxy {

// Parses an upstream response (Beast's parser, so the same grammar, limits and framing as
// http::response_parser) into a head that costs no allocation per field: names and values are
// copied into one string the connection keeps between responses, and read as views once the
// head is complete. http::response_parser builds a basic_fields instead, one allocation and one
// insert into a case-insensitive ordered set per field, for a head the relay only walks once.
// The body goes into the caller's buffer, as with http::buffer_body (body_buffer, body_room).
class ResponseParser : public boost::beast::http::basic_parser<false> {
 public:
  struct Field {
    boost::beast::http::field name;  // field::unknown for names Beast has no code for
    std::string_view name_string;
    std::string_view value;
  };

  // What a connection keeps between responses so that parsing one allocates nothing.
  struct Storage {
    std::string bytes;  // the reason phrase, then each field's name and value
    std::vector<Field> fields;
    struct Span {
      boost::beast::http::field name;
      std::size_t name_at, name_size, value_at, value_size;
    };
    std::vector<Span> spans;  // where the fields are in `bytes` while it may still grow
  };

  explicit ResponseParser(Storage& storage);

  // Valid once the header is done.
  int status() const { return status_; }
  int version() const { return version_; }
  std::string_view reason() const { return reason_; }
  // The head's fields in the order they came (a chunked body's trailer fields are not kept).
  const std::vector<Field>& fields() const { return s_.fields; }

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

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
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
  int status_ = 0;
  int version_ = 0;
  std::size_t reason_size_ = 0;
  std::string_view reason_;
  char* body_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace olla::proxy
