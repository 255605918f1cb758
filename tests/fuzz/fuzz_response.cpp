// The upstream response parser the relay uses (proxy::ResponseParser: Beast's grammar, the head
// kept as views into one string, the body into the caller's buffer) against Beast's own
// http::response_parser<buffer_body> on the same bytes: both must accept or refuse alike, and
// agree on the status, reason, version, every field (code, name, value; ours in wire order, where
// basic_fields moves a repeated name next to its first), framing,
// keep-alive and the body. Input byte 0 sets the piece size the bytes are fed in (1-64, or whole)
// and the body buffer size (1-16, or 16 KiB), as short reads and a small relay buffer would.
#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_head.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

struct Result {
  bool ok = false;
  std::string body;
};

// Feeds `in` `step` bytes at a time, as the session's buffer would hold them; the body goes
// through `room` bytes at a time when `body_room` is set.
template <typename Parser, typename Drain, typename Header = void (*)()>
Result feed(
    Parser& p, std::string_view in, std::size_t step, Drain drain, Header on_header = [] {}) {
  Result r;
  bool header_seen = false;
  std::string pending;
  std::size_t fed = 0;
  for (int guard = 0; guard < 1'000'000 && !p.is_done(); ++guard) {
    if (fed < in.size()) {
      const auto n = std::min(step, in.size() - fed);
      pending.append(in.substr(fed, n));
      fed += n;
    }
    error_code ec;
    const auto used = p.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (!header_seen && p.is_header_done()) {
      header_seen = true;
      on_header();  // not eager: the put that ends the head parses nothing after it
    }
    drain(r.body);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::need_more) {
      if (fed == in.size()) return r;  // ran out of input: neither is done
      continue;
    }
    if (ec) return r;
    if (used == 0 && fed == in.size() && !p.is_done()) {
      if (!p.is_header_done()) return r;
      error_code eof;
      p.put_eof(eof);  // a close-delimited body ends with the input
      drain(r.body);
      if (eof) return r;
    }
  }
  r.ok = p.is_done();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view in = olla::fuzz::as_view(data + 1, size - 1);
  const std::size_t step = data[0] & 0x40 ? in.size() + 1 : (data[0] & 0x3f) + 1;
  const std::size_t room = data[0] & 0x80 ? 16 * 1024 : ((data[0] >> 2) & 0x0f) + 1;

  // buffer_body, not string_body: a string reserves the Content-Length it is told.
  http::response_parser<http::buffer_body> theirs;
  theirs.body_limit(boost::none);
  theirs.header_limit(64 * 1024);
  std::string their_buf(room, '\0');
  const auto point = [&] {
    theirs.get().body().data = their_buf.data();
    theirs.get().body().size = their_buf.size();
  };
  point();
  // Their fields as the head ended: basic_fields later takes a chunked body's trailers too.
  olla::fuzz::BeastFields their_head;
  const auto a = feed(
      theirs, in, step,
      [&](std::string& body) {
        body.append(their_buf.data(), their_buf.size() - theirs.get().body().size);
        point();
      },
      [&] { their_head = olla::fuzz::copy_fields(theirs.get()); });

  olla::proxy::ResponseParser::Storage storage;
  olla::proxy::ResponseParser ours(storage);
  ours.body_limit(boost::none);
  ours.header_limit(64 * 1024);
  std::string buf(room, '\0');
  ours.body_buffer(buf.data(), buf.size());
  const auto b = feed(ours, in, step, [&](std::string& body) {
    body.append(buf.data(), buf.size() - ours.body_room());
    ours.body_buffer(buf.data(), buf.size());
  });

  FUZZ_CHECK(a.ok == b.ok);
  FUZZ_CHECK(theirs.is_header_done() == ours.is_header_done());
  if (!ours.is_header_done()) return 0;
  const auto& res = theirs.get();
  FUZZ_CHECK(res.result_int() == static_cast<unsigned>(ours.status()));
  FUZZ_CHECK(res.version() == static_cast<unsigned>(ours.version()));
  // Beast's reason() stands in the obsolete reason for an empty one; the relay does the same.
  const auto status = static_cast<unsigned>(ours.status());
  FUZZ_CHECK(std::string_view(res.reason()) ==
             (ours.reason().empty()
                  ? std::string_view(http::obsolete_reason(http::int_to_status(status)))
                  : ours.reason()));
  olla::fuzz::check_same_fields(their_head, ours.fields());
  FUZZ_CHECK(theirs.chunked() == ours.chunked());
  FUZZ_CHECK(theirs.content_length() == ours.content_length());
  if (a.ok) {
    FUZZ_CHECK(theirs.keep_alive() == ours.keep_alive());
    FUZZ_CHECK(a.body == b.body);
  }
  return 0;
}
