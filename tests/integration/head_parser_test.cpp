// proxy::HeadParser (RequestParser, ResponseParser): Beast's grammar with a head kept as views
// into one reused string, and the body written into the caller's buffer like http::buffer_body.
// Fed a byte at a time as well as whole, the way the relay meets short reads: a head that arrives
// whole takes the fast path, one in pieces goes to Beast's parser, and both must agree.
#include "../../src/proxy/head_parser.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/optional/optional_io.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace olla::proxy {
namespace {

namespace http = boost::beast::http;
using boost::system::error_code;

// Parses `wire` fed `step` bytes at a time (the parser sees all bytes not yet consumed, as the
// session's buffer would hold them); the body goes through a buffer of `room` bytes at a time.
struct Parsed {
  error_code ec;
  std::string body;
};
template <typename Parser>
Parsed parse(Parser& p, const std::string& wire, std::size_t step, std::size_t room) {
  Parsed out;
  std::string pending;
  std::size_t fed = 0;
  std::string buf(room, '\0');
  while (!p.is_done()) {
    if (pending.empty() || out.ec == http::error::need_more) {
      if (fed == wire.size()) break;
      const auto n = std::min(step, wire.size() - fed);
      pending.append(wire, fed, n);
      fed += n;
    }
    p.body_buffer(buf.data(), buf.size());
    out.ec = {};
    const auto used = p.put(boost::asio::buffer(pending), out.ec);
    pending.erase(0, used);
    out.body.append(buf.data(), buf.size() - p.body_room());
    if (out.ec == http::error::need_buffer) out.ec = {};
    if (out.ec && out.ec != http::error::need_more) break;
  }
  return out;
}

const std::string kChunked =
    "HTTP/1.1 200 OK\r\nServer: litellm\r\ncontent-type: text/event-stream\r\n"
    "X-Litellm-Model-Id: abc\r\nTransfer-Encoding: chunked\r\n\r\n"
    "6\r\ndata: \r\n10\r\n{\"x\":1}\n\n0123456\r\n0\r\n\r\n";

TEST(ResponseParser, HeadAndChunkedBodyFedAByteAtATime) {
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, kChunked.size()}) {
    for (std::size_t room : {std::size_t{1}, std::size_t{5}, std::size_t{4096}}) {
      ResponseParser::Storage storage;
      ResponseParser p(storage);
      const auto r = parse(p, kChunked, step, room);
      ASSERT_FALSE(r.ec) << r.ec.message() << " step " << step << " room " << room;
      ASSERT_TRUE(p.is_done());
      EXPECT_EQ(p.status(), 200);
      EXPECT_EQ(p.reason(), "OK");
      EXPECT_EQ(p.version(), 11);
      ASSERT_EQ(p.fields().size(), 4u);
      EXPECT_EQ(p.fields()[0].name, http::field::server);
      EXPECT_EQ(p.fields()[0].value, "litellm");
      EXPECT_EQ(p.fields()[1].name, http::field::content_type);
      EXPECT_EQ(p.fields()[1].name_string, "content-type") << "the name as sent";
      EXPECT_EQ(p.fields()[2].name, http::field::unknown);
      EXPECT_EQ(p.fields()[2].name_string, "X-Litellm-Model-Id");
      EXPECT_EQ(p.fields()[2].value, "abc");
      EXPECT_TRUE(p.chunked());
      EXPECT_EQ(r.body, "data: {\"x\":1}\n\n0123456");
    }
  }
}

TEST(ResponseParser, ManyFieldsStayValidAsTheStorageGrows) {
  std::string wire = "HTTP/1.1 404 Not Found\r\n";
  for (int i = 0; i < 300; ++i) {
    wire += "X-Field-" + std::to_string(i) + ": " + std::string(40, char('a' + i % 26)) + "\r\n";
  }
  wire += "Content-Length: 5\r\n\r\nabcde";
  ResponseParser::Storage storage;
  ResponseParser p(storage);
  p.header_limit(64 * 1024);  // as the session sets it
  const auto r = parse(p, wire, wire.size(), 4096);
  ASSERT_FALSE(r.ec) << r.ec.message();
  ASSERT_EQ(p.fields().size(), 301u);
  EXPECT_EQ(p.reason(), "Not Found");
  EXPECT_EQ(p.fields()[299].name_string, "X-Field-299");
  EXPECT_EQ(p.fields()[299].value, std::string(40, char('a' + 299 % 26)));
  EXPECT_EQ(p.fields()[300].name, http::field::content_length);
  EXPECT_EQ(r.body, "abcde");
}

TEST(ResponseParser, StorageIsReusedForTheNextResponse) {
  ResponseParser::Storage storage;
  {
    ResponseParser first(storage);
    ASSERT_FALSE(parse(first, kChunked, kChunked.size(), 64).ec);
  }
  const std::string second = "HTTP/1.1 204 No Content\r\nX-Upstream: yes\r\n\r\n";
  ResponseParser p(storage);
  const auto r = parse(p, second, 3, 64);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(p.status(), 204);
  ASSERT_EQ(p.fields().size(), 1u) << "nothing left of the first response";
  EXPECT_EQ(p.fields()[0].value, "yes");
  EXPECT_EQ(r.body, "");
}

// Trailer fields come after the head's views are taken: they are not kept, and the head stays
// readable (a trailer large enough to grow the storage once moved the views' bytes: found by
// fuzz_response under ASan).
TEST(ResponseParser, TrailersAreNotKeptAndTheHeadStaysValid) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: " +
      std::string(4000, 't') + "\r\n\r\n";
  ResponseParser::Storage storage;
  ResponseParser p(storage);
  const auto r = parse(p, wire, 1000, 64);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(r.body, "abc");
  ASSERT_EQ(p.fields().size(), 2u);
  EXPECT_EQ(p.fields()[0].value, "text/event-stream");
  EXPECT_EQ(p.fields()[1].value, "chunked");
  EXPECT_EQ(p.reason(), "OK");
}

TEST(ResponseParser, NoBodyBufferMeansNeedBuffer) {
  ResponseParser::Storage storage;
  ResponseParser p(storage);
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  error_code ec;
  auto used = p.put(boost::asio::buffer(wire), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(p.is_header_done());
  used += p.put(boost::asio::buffer(wire.substr(used)), ec);
  EXPECT_EQ(ec, http::error::need_buffer);
  EXPECT_FALSE(p.is_done());
}

TEST(RequestParser, RequestLineFieldsAndChunkedBody) {
  const std::string wire =
      "POST /olla/litellm/v1/chat/completions?x=1 HTTP/1.1\r\nHost: gw\r\n"
      "X-Forwarded-For: 10.0.0.1\r\nContent-Type: application/json\r\n"
      "x-forwarded-for: 10.0.0.2\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{9}, wire.size()}) {
    RequestParser::Storage storage;
    RequestParser p(storage);
    const auto r = parse(p, wire, step, 3);
    ASSERT_FALSE(r.ec) << r.ec.message() << " step " << step;
    ASSERT_TRUE(p.is_done());
    EXPECT_EQ(p.method(), http::verb::post);
    EXPECT_EQ(p.method_string(), "POST");
    EXPECT_EQ(p.target(), "/olla/litellm/v1/chat/completions?x=1");
    EXPECT_EQ(p.version(), 11);
    EXPECT_TRUE(p.keep_alive());
    ASSERT_EQ(p.fields().size(), 5u);
    EXPECT_EQ(p.value_of(http::field::host), "gw");
    EXPECT_EQ(p.value_of(http::field::content_type), "application/json");
    EXPECT_EQ(p.value_of(http::field::origin), "") << "absent";
    // Wire order, a repeated name where it came (basic_fields would have moved it up).
    EXPECT_EQ(p.fields()[1].value, "10.0.0.1");
    EXPECT_EQ(p.fields()[3].name_string, "x-forwarded-for");
    EXPECT_EQ(p.fields()[3].value, "10.0.0.2");
    EXPECT_EQ(r.body, "{\"a\":1}");
  }
}

TEST(RequestParser, UnknownMethodKeepsItsName) {
  RequestParser::Storage storage;
  RequestParser p(storage);
  const auto r = parse(p, std::string("PURGE /x HTTP/1.0\r\n\r\n"), 4, 16);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(p.method(), http::verb::purge);
  EXPECT_EQ(p.method_string(), "PURGE");
  EXPECT_EQ(p.version(), 10);
  EXPECT_FALSE(p.keep_alive());
  RequestParser::Storage storage2;
  RequestParser q(storage2);
  ASSERT_FALSE(parse(q, std::string("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"), 64, 16).ec);
  EXPECT_EQ(q.method(), http::verb::unknown);
  EXPECT_EQ(q.method_string(), "BREW");
  EXPECT_EQ(q.target(), "/pot");
}

TEST(ResponseParser, MalformedHeadIsAnError) {
  ResponseParser::Storage storage;
  ResponseParser p(storage);
  const auto r = parse(p, "HTTP/1.1 200 OK\r\nBad Field\r\n\r\n", 64, 64);
  EXPECT_TRUE(r.ec);
  EXPECT_NE(r.ec, http::error::need_more);
}

// What a test compares between two parses of the same message.
struct Seen {
  int version, status;
  std::string method, target, reason;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<http::field> codes;
  bool keep_alive, chunked;
  boost::optional<std::uint64_t> length;
  std::string body;
  bool operator==(const Seen&) const = default;
};
template <typename Parser>
Seen seen(const Parser& p, const Parsed& r) {
  Seen s{p.version(),        0,     {}, {}, {}, {}, {}, p.keep_alive(), p.chunked(),
         p.content_length(), r.body};
  if constexpr (std::is_same_v<Parser, RequestParser>) {
    s.method = p.method_string();
    s.target = p.target();
  } else {
    s.status = p.status();
    s.reason = p.reason();
  }
  for (const auto& f : p.fields()) {
    s.fields.emplace_back(f.name_string, f.value);
    s.codes.push_back(f.name);
  }
  return s;
}

// Whole (the fast path, when the message is in its plain form) and a byte at a time (Beast's
// parser): the same head, framing and body.
template <typename Parser>
Seen same_whole_and_in_pieces(const std::string& wire) {
  typename Parser::Storage whole_storage, pieces_storage;
  Parser whole(whole_storage), pieces(pieces_storage);
  const auto a = parse(whole, wire, wire.size(), 4096);
  const auto b = parse(pieces, wire, 1, 3);
  EXPECT_FALSE(a.ec) << a.ec.message() << "\n" << wire;
  EXPECT_FALSE(b.ec) << b.ec.message() << "\n" << wire;
  EXPECT_TRUE(whole.is_done()) << wire;
  EXPECT_TRUE(pieces.is_done()) << wire;
  const auto s = seen(whole, a);
  EXPECT_EQ(s, seen(pieces, b)) << wire;
  return s;
}

TEST(RequestParser, PlainRequestWholeAndInPiecesAgree) {
  const auto s = same_whole_and_in_pieces<RequestParser>(
      "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:40114\r\n"
      "User-Agent: OpenAI/JS 4.0\r\ncontent-type:application/json \t\r\n"
      "X-Empty:\r\nAuthorization: Bearer sk-\xc3\xa9t\xe9\r\nContent-Length: 0013\r\n\r\n"
      "{\"model\":\"x\"}");
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.target, "/olla/litellm/v1/chat/completions");
  EXPECT_EQ(s.version, 11);
  EXPECT_TRUE(s.keep_alive);
  ASSERT_EQ(s.fields.size(), 6u);
  EXPECT_EQ(s.fields[2], (std::pair<std::string, std::string>{"content-type", "application/json"}));
  EXPECT_EQ(s.codes[2], http::field::content_type);
  EXPECT_EQ(s.fields[3].second, "");
  EXPECT_EQ(s.codes[3], http::field::unknown);
  EXPECT_EQ(s.fields[4].second, "Bearer sk-\xc3\xa9t\xe9") << "8-bit bytes are field text";
  EXPECT_EQ(s.length, boost::optional<std::uint64_t>(13));
  EXPECT_EQ(s.body, "{\"model\":\"x\"}");
}

TEST(RequestParser, ConnectionAndVersionDecideKeepAlive) {
  EXPECT_FALSE(
      same_whole_and_in_pieces<RequestParser>("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
          .keep_alive);
  EXPECT_TRUE(
      same_whole_and_in_pieces<RequestParser>("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n")
          .keep_alive);
  EXPECT_FALSE(same_whole_and_in_pieces<RequestParser>("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(
      same_whole_and_in_pieces<RequestParser>("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
          .keep_alive);
  // A token list the fast path leaves to Beast.
  EXPECT_FALSE(same_whole_and_in_pieces<RequestParser>(
                   "GET / HTTP/1.1\r\nConnection: Upgrade, close\r\nUpgrade: h2c\r\n\r\n")
                   .keep_alive);
}

TEST(RequestParser, FormsTheFastPathLeavesToBeast) {
  // A folded line, a Content-Length list, a Transfer-Encoding other than chunked (chunked itself
  // is the fast path's, whole).
  EXPECT_EQ(same_whole_and_in_pieces<RequestParser>(
                "GET / HTTP/1.1\r\nX-A: one\r\n  two\r\nX-B: 3\r\n\r\n")
                .fields[0]
                .second,
            "one two");
  EXPECT_EQ(
      same_whole_and_in_pieces<RequestParser>("POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok")
          .body,
      "ok");
  EXPECT_TRUE(same_whole_and_in_pieces<RequestParser>(
                  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
                  .chunked);
  EXPECT_EQ(
      same_whole_and_in_pieces<RequestParser>("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
          .body,
      "");
}

TEST(ResponseParser, PlainResponsesWholeAndInPiecesAgree) {
  const auto s = same_whole_and_in_pieces<ResponseParser>(
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.reason, "OK");
  EXPECT_TRUE(s.keep_alive);
  EXPECT_EQ(s.body, "{}");
  // No body whatever the length says: 204, 304, 1xx.
  EXPECT_EQ(same_whole_and_in_pieces<ResponseParser>(
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
                .length,
            boost::optional<std::uint64_t>(10));
  EXPECT_EQ(same_whole_and_in_pieces<ResponseParser>("HTTP/1.1 204 \r\n\r\n").reason, "");
  // Close-delimited: Beast's, ended by put_eof.
  ResponseParser::Storage storage;
  ResponseParser p(storage);
  const auto r = parse(p, "HTTP/1.0 200 OK\r\n\r\nbody", 64, 64);
  ASSERT_FALSE(r.ec) << r.ec.message();
  ASSERT_TRUE(p.is_header_done());
  EXPECT_FALSE(p.is_done());
  error_code ec;
  p.put_eof(ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(r.body, "body");
}

// Chunked bodies: the fast path takes plain size lines and hands the body to Beast's parser at
// the first line in another form (extensions, trailer fields, a long size), which must read on
// as if it had parsed the body from its start; whole and a byte at a time agree.
TEST(ResponseParser, ChunkedBodiesInFormsTheFastPathHandsToBeast) {
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::string bodies[] = {
      "3\r\nabc\r\n4;name=\"v\"\r\ndefg\r\n0\r\n\r\n",              // an extension mid-body
      "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",                      // a trailer field
      "0000000000000003\r\nabc\r\nA\r\n0123456789\r\n000\r\n\r\n",  // 16 digits, upper case
      "3;x\r\nabc\r\n0\r\n\r\n",                                    // an extension at once
  };
  const std::string expected[] = {"abcdefg", "abc", "abc0123456789", "abc"};
  for (int i = 0; i < 4; ++i) {
    const auto s = same_whole_and_in_pieces<ResponseParser>(head + bodies[i]);
    EXPECT_EQ(s.body, expected[i]) << bodies[i];
    EXPECT_TRUE(s.chunked);
    EXPECT_FALSE(s.keep_alive) << "the real head's Connection, not the stand-in's";
    ASSERT_EQ(s.fields.size(), 3u) << "the stand-in head adds no field";
    EXPECT_EQ(s.fields[1].second, "close");
  }
}

TEST(ResponseParser, ChunkedBodyErrorsAsBeast) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const auto parsed = [&](const std::string& body, std::size_t step,
                          boost::optional<std::uint64_t> limit) {
    ResponseParser::Storage storage;
    ResponseParser p(storage);
    p.body_limit(limit);
    return parse(p, head + body, step, 64).ec;
  };
  for (std::size_t step : {std::size_t{1}, std::size_t{4096}}) {
    // The chunks' total is limited, not each chunk.
    EXPECT_EQ(parsed("6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", step, 10), http::error::body_limit)
        << step;
    EXPECT_FALSE(parsed("6\r\nabcdef\r\n4\r\nabcd\r\n0\r\n\r\n", step, 10)) << step;
    // Data longer than its size line says; a size line that is not hex.
    EXPECT_EQ(parsed("2\r\nabc\r\n0\r\n\r\n", step, boost::none), http::error::bad_chunk) << step;
    EXPECT_EQ(parsed("x\r\nabc\r\n0\r\n\r\n", step, boost::none), http::error::bad_chunk) << step;
  }
}

TEST(ResponseParser, ResponseToHeadHasNoBody) {
  ResponseParser::Storage storage;
  ResponseParser p(storage);
  p.skip(true);
  const auto r = parse(p, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 64, 64);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(p.content_length(), boost::optional<std::uint64_t>(99));
}

TEST(RequestParser, LimitsHoldOnTheFastPath) {
  {
    RequestParser::Storage storage;
    RequestParser p(storage);
    p.body_limit(4);
    EXPECT_EQ(parse(p, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", 64, 64).ec,
              http::error::body_limit);
  }
  {
    RequestParser::Storage storage;
    RequestParser p(storage);
    p.header_limit(32);
    EXPECT_EQ(
        parse(p, "GET / HTTP/1.1\r\nX-Long: " + std::string(40, 'a') + "\r\n\r\n", 256, 64).ec,
        http::error::header_limit);
  }
  {
    // A body cut short: put_eof says so.
    RequestParser::Storage storage;
    RequestParser p(storage);
    const auto r = parse(p, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 64, 64);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.body, "ab");
    error_code ec;
    p.put_eof(ec);
    EXPECT_EQ(ec, http::error::partial_message);
  }
}

TEST(RequestParser, BadRequestLinesAreErrors) {
  for (const char* wire :
       {"GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET /a\x7f HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "GET / HTTP/1.1\r\nX : a\r\n\r\n"}) {
    RequestParser::Storage storage;
    RequestParser p(storage);
    const auto r = parse(p, wire, 256, 64);
    EXPECT_TRUE(r.ec && r.ec != http::error::need_more) << wire;
  }
}

}  // namespace
}  // namespace olla::proxy
