// proxy::HeadParser (RequestParser, ResponseParser): Beast's grammar with a head kept as views
// into one reused string, and the body written into the caller's buffer like http::buffer_body.
// Fed a byte at a time as well as whole, the way the relay meets short reads.
#include "../../src/proxy/head_parser.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>

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

}  // namespace
}  // namespace olla::proxy
