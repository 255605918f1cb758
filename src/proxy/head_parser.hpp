#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace olla::proxy {

// One field of a parsed head: views into HeadStorage::bytes.
struct HeadField {
  boost::beast::http::field name;  // field::unknown for names Beast has no code for
  std::string_view name_string;
  std::string_view value;
};

// What a connection keeps between messages so that parsing one allocates nothing.
struct HeadStorage {
  std::string bytes;  // the head's bytes (the fast path), or its parts (Beast's)
  std::vector<HeadField> fields;
  struct Span {
    boost::beast::http::field name;
    std::size_t name_at, name_size, value_at, value_size;
  };
  std::vector<Span> spans;  // where the fields are in `bytes` while it may still grow
};

namespace detail {

// The parsed head, shared by HeadParser's fast path and Beast's parser: the start line's parts and
// where the fields are in the storage, then (done()) the fields as views; the body goes into the
// caller's buffer as with http::buffer_body.
struct HeadState {
  explicit HeadState(HeadStorage& storage);
  void reset();
  std::size_t keep(std::string_view s);  // appended to the storage; returns where
  void add_field(boost::beast::http::field name, std::string_view name_string,
                 std::string_view value);
  void done();  // the head is complete: the views are taken
  std::size_t take_body(std::string_view body, boost::system::error_code& ec);

  HeadStorage& s;
  bool header_done = false;
  int version = 0;
  int status = 0;
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::size_t first_at = 0, first_size = 0, second_at = 0, second_size = 0;
  std::string_view first, second;  // method and target, or reason and nothing
  char* body = nullptr;
  std::size_t room = 0;
};

// Beast's parser writing into a HeadState: HeadParser hands it what its fast path does not take.
template <bool isRequest>
class BeastHead : public boost::beast::http::basic_parser<isRequest> {
 public:
  explicit BeastHead(HeadState& st) : st_(st) {}

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_string,
                       string_view target, int version, error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  // A parser that takes over a chunked body the fast path began (HeadParser::to_beast_body) is
  // given a head of its own first, which must not replace the real one.
  void on_header_impl(error_code&) override {
    if (!st_.header_done) st_.done();
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override {
    return st_.take_body(body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return st_.take_body(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  HeadState& st_;
};

}  // namespace detail

// Parses an HTTP/1 message with Beast's grammar, limits and framing (as http::request_parser /
// response_parser do) into a head that costs no allocation per field: the head's bytes are copied
// into one string the connection keeps between messages and the fields are views into it.
// http::parser builds a basic_fields instead, one allocation and one insert into a
// case-insensitive ordered set per field, for a head the gateway walks once or twice. The body
// goes into the caller's buffer, as with http::buffer_body (body_buffer, body_room). Fields are
// kept in the order they came (a chunked body's trailer fields are not kept).
//
// A fast path takes the common message whole: a head that arrived complete in one put(), in the
// plain form of the grammar (no folded lines, Connection "close" or "keep-alive" at most, one
// Content-Length, or one Transfer-Encoding that is exactly "chunked" in HTTP/1.1, or no body),
// with a body framed by its length or in chunks with plain size lines. Any other head goes to
// Beast's parser from the first byte (the fast path consumes nothing until it has taken a head);
// a chunked body goes to Beast's parser from the first size line in another form (extensions,
// trailers). Both give the same result; fuzz_request and fuzz_response hold them to that.
// (Beast's parser costs about 600 instructions per field: its token-list parse of Connection, a
// table lookup for the field's code, byte-at-a-time scans; the fast path a third of that.)
template <bool isRequest>
class HeadParser {
 public:
  using Field = HeadField;
  using Storage = HeadStorage;

  explicit HeadParser(Storage& storage) : st_(storage) {}
  HeadParser(const HeadParser&) = delete;
  HeadParser& operator=(const HeadParser&) = delete;

  // As http::basic_parser's. The put that completes the head parses no body; once the head is
  // done a put parses as far as the bytes and the body buffer go (Beast's eager mode), several
  // chunks included.
  std::size_t put(boost::asio::const_buffer buffer, boost::system::error_code& ec);
  void put_eof(boost::system::error_code& ec);
  bool got_some() const { return beast_ ? beast_->got_some() : mode_ != Mode::fresh; }
  bool is_header_done() const { return beast_ ? beast_->is_header_done() : mode_ >= Mode::body; }
  bool is_done() const { return beast_ ? beast_->is_done() : mode_ == Mode::done; }
  bool keep_alive() const;
  bool chunked() const { return chunked_ || (beast_ && beast_->chunked()); }
  boost::optional<std::uint64_t> content_length() const {
    return beast_ ? beast_->content_length() : length_;
  }
  void body_limit(boost::optional<std::uint64_t> v) { body_limit_ = v; }
  void header_limit(std::uint32_t v) { header_limit_ = v; }
  void skip(bool v) { skip_ = v; }

  // Valid once the header is done.
  int version() const { return st_.version; }
  const std::vector<Field>& fields() const { return st_.s.fields; }
  // The value of the first field with this code; empty when there is none.
  std::string_view value_of(boost::beast::http::field name) const;
  // Requests.
  boost::beast::http::verb method() const { return st_.method; }
  std::string_view method_string() const { return st_.first; }
  std::string_view target() const { return st_.second; }
  // Responses.
  int status() const { return st_.status; }
  std::string_view reason() const { return st_.first; }

  // Where the next body bytes go (nullptr: nowhere yet; put() then says need_buffer), and how
  // much of that room is left.
  void body_buffer(char* data, std::size_t size) {
    st_.body = data;
    st_.room = size;
  }
  std::size_t body_room() const { return st_.room; }

 private:
  enum class Mode : unsigned char { fresh, body, chunks, done };

  std::size_t fast_head(const char* data, std::size_t n);  // 0: not taken
  std::size_t to_beast(boost::asio::const_buffer buffer, boost::system::error_code& ec);
  std::size_t put_chunks(const char* data, std::size_t n, boost::system::error_code& ec);
  std::size_t to_beast_body(const char* data, std::size_t n, boost::system::error_code& ec);

  detail::HeadState st_;
  std::optional<detail::BeastHead<isRequest>> beast_;  // once the fast path declined
  Mode mode_ = Mode::fresh;
  bool skip_ = false;
  bool close_ = false, keep_alive_token_ = false;  // Connection's tokens
  std::uint32_t header_limit_ = 8192;              // Beast's defaults
  boost::optional<std::uint64_t> body_limit_ =
      isRequest ? std::uint64_t{1024 * 1024} : std::uint64_t{8 * 1024 * 1024};
  boost::optional<std::uint64_t> length_;  // Content-Length
  std::uint64_t remaining_ = 0;            // body bytes still to come (Mode::body), or of the
                                           // chunk being read (Mode::chunks)
  bool chunked_ = false;                   // the fast path took a chunked head
  bool crlf_next_ = false;                 // Mode::chunks: a chunk's data ended, its CRLF is next
  bool beast_body_ = false;                // beast_ took over a chunked body (to_beast_body)
};

using RequestParser = HeadParser<true>;
using ResponseParser = HeadParser<false>;

extern template class HeadParser<true>;
extern template class HeadParser<false>;
extern template class detail::BeastHead<true>;
extern template class detail::BeastHead<false>;

}  // namespace olla::proxy
