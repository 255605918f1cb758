#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace olla::proxy {

// Writes an HTTP/1.1 message head into a string the caller keeps between messages: no allocation
// per header field, and the head goes out in the same write as the first piece of the body.
// (Beast's serializer hands a head over as one buffer per field and costs about a fifth of the
// gateway's CPU per proxied request; see docs/performance.md.) Names and values are written as
// given: callers pass fields a parser accepted or values checked with is_header_safe().
class HeadWriter {
 public:
  // Clears `out` (its capacity stays, for the next head).
  explicit HeadWriter(std::string& out);
  ~HeadWriter();
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  // "POST /base/v1/chat/completions HTTP/1.1"
  void request_line(std::string_view method, std::string_view base, std::string_view target);
  // "HTTP/1.1 200 OK" (an empty reason is allowed: "HTTP/1.1 299 ").
  void status_line(unsigned status, std::string_view reason);
  void field(std::string_view name, std::string_view value);
  // A value written from parts, with no string built for it ("host" ":" "port").
  void field(std::string_view name, std::initializer_list<std::string_view> value);
  void field(std::string_view name, std::uint64_t value);
  // The empty line that ends the head; returns the whole head. Until then `out` is not the head.
  std::string_view finish();

 private:
  char* room(std::size_t n);  // n bytes at the end of the head, to write into
  static void put(char*& p, std::string_view s);

  std::string& out_;
  std::size_t len_ = 0;
};

// Chunked framing (RFC 9112 7.1): the size line of a chunk of n > 0 bytes, written into `buf`.
// A chunk of 0 bytes is the end of the body (kLastChunk), never a piece of it.
std::string_view chunk_size_line(char (&buf)[24], std::size_t n);
inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace olla::proxy
