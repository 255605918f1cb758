// The relay's framing against an upstream that answers in ways the mock LiteLLM does not: a body
// delimited by the connection's close, an error body too large to hold, HEAD, 204, and fields
// olla writes itself. The upstream here is a few lines of blocking socket code with scripted
// answers, so every byte it sends is known.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace olla::test {
namespace {

const std::string kBigError = [] {
  // A JSON error of 1.5 MiB: above the 1 MiB olla reads whole to enrich, so it is relayed.
  std::string message(3u << 19, 'e');
  return R"({"error":{"message":")" + message + R"(","type":"server_error","code":500}})";
}();

// One scripted answer per request target; serves keep-alive connections until it is destroyed.
const std::string kFrames[] = {"data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", "data: [DONE]\n\n"};

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

class RawUpstream {
 public:
  RawUpstream() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] {
      for (;;) {
        tcp::socket s(ioc_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stopping_) return;
        std::lock_guard lock(mu_);
        tcp::socket* sock =
            sockets_.emplace_back(std::make_unique<tcp::socket>(std::move(s))).get();
        threads_.emplace_back([this, sock] { serve(*sock); });
      }
    });
  }
  ~RawUpstream() {
    stopping_ = true;
    boost::system::error_code ec;
    // Wake the acceptor with a connection of our own, then shut every connection down.
    tcp::socket waker(ioc_);
    waker.connect(acceptor_.local_endpoint(), ec);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ec);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Connections olla closed while /v1/silent was waiting for them.
  int silent_closed() const { return silent_closed_.load(); }
  std::string endpoint_yaml() const {
    return "      - url: http://127.0.0.1:" + std::to_string(port()) +
           "\n        name: raw\n        type: litellm\n        check_interval: 200ms\n";
  }

 private:
  static std::string answer(const std::string& status, const std::string& fields,
                            const std::string& body) {
    return "HTTP/1.1 " + status + "\r\n" + fields +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  void serve(tcp::socket& s) {
    std::string in;
    boost::system::error_code ec;
    for (;;) {
      const auto n = asio::read_until(s, asio::dynamic_buffer(in), "\r\n\r\n", ec);
      if (ec) return;
      const std::string head = in.substr(0, n);
      in.erase(0, n);
      std::string lower = head;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t length = 0;
      if (auto at = lower.find("content-length:"); at != std::string::npos) {
        length = std::stoul(lower.substr(at + 15));
      }
      if (in.size() < length) {
        asio::read(s, asio::dynamic_buffer(in), asio::transfer_exactly(length - in.size()), ec);
      }
      in.erase(0, std::min(length, in.size()));
      const auto target =
          head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
      bool close_after = false;
      std::string out;
      if (target == "/health/liveliness") {
        out = answer("200 OK", "Content-Type: application/json\r\n", R"("ok")");
      } else if (target == "/v1/models") {
        out = answer("200 OK", "Content-Type: application/json\r\n",
                     R"({"object":"list","data":[{"id":"raw-model","object":"model"}]})");
      } else if (target == "/model/info") {
        out = answer("200 OK", "Content-Type: application/json\r\n", R"({"data":[]})");
      } else if (target == "/v1/close-delimited") {
        out =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
            "no length, no chunks: the body ends when the connection does";
        close_after = true;
      } else if (target == "/v1/reset-mid-body" || target == "/v1/reset-mid-chunks") {
        // Part of the body, a pause (olla reads it and waits for more), then more of it with a
        // reset right behind: both reach olla's socket before it reads, in one epoll event.
        const bool chunked = target == "/v1/reset-mid-chunks";
        asio::write(s,
                    asio::buffer(chunked ? std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                                       "chunked\r\n\r\n10\r\nfirst sixteen b.\r\n")
                                         : std::string("HTTP/1.1 200 OK\r\nContent-Length: "
                                                       "64\r\n\r\nfirst sixteen b.")),
                    ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        s.set_option(tcp::socket::linger(true, 0), ec);
        asio::write(s,
                    asio::buffer(chunked ? std::string("10\r\nthen sixteen mo.\r\n")
                                         : std::string("then sixteen mo.")),
                    ec);
        std::lock_guard lock(mu_);  // the destructor shuts every socket down under it
        s.close(ec);
        return;
      } else if (target == "/v1/burst-chunks") {  // three frames and the end in one write
        out =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
            "chunked\r\n\r\n" +
            chunk(kFrames[0]) + chunk(kFrames[1]) + chunk(kFrames[2]) + "0\r\n\r\n";
      } else if (target == "/v1/big-error") {
        out = answer("500 Internal Server Error", "Content-Type: application/json\r\n", kBigError);
      } else if (target == "/v1/no-content") {
        out = "HTTP/1.1 204 No Content\r\nX-Upstream: yes\r\n\r\n";
      } else if (target == "/v1/head") {  // olla sends HEAD; the length is that of a GET's body
        out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 277\r\n\r\n";
      } else if (target == "/v1/own-headers") {
        out = answer("200 OK",
                     "X-Olla-Endpoint: spoofed\r\nx-olla-request-id: spoofed\r\n"
                     "Content-Type: application/json\r\n",
                     "{}");
      } else if (target == "/v1/silent") {  // never answers; notes when olla closes
        char byte;
        while (!ec) s.read_some(asio::buffer(&byte, 1), ec);
        ++silent_closed_;
        return;
      } else {
        out = answer("404 Not Found", "", "");
      }
      asio::write(s, asio::buffer(out), ec);
      if (ec || close_after) {
        s.shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> silent_closed_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::unique_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
};

class Relay : public ::testing::Test {
 protected:
  RawUpstream upstream;
  Stack stack{{}, upstream.endpoint_yaml()};
  void SetUp() override { ASSERT_TRUE(stack.wait_healthy(1)); }
};

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST_F(Relay, CloseDelimitedBodyIsChunkedForAKeepAliveClient) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/close-delimited", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "no length, no chunks: the body ends when the connection does");
  // The client's connection stays usable: two requests, two answers, on one connection.
  const std::string post =
      "POST /olla/litellm/v1/close-delimited HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n";
  auto out = raw_exchange(stack.port(), post + "\r\n{}" + post + "Connection: close\r\n\r\n{}");
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 2u) << out;
  EXPECT_EQ(count(out, "\r\n0\r\n\r\n"), 2u) << "each body ends with its last chunk: " << out;
}

// Chunks that reach olla together leave it together: one chunk holding the three frames, and the
// end of the body, in one write (one chunk each before; each was a system call).
TEST_F(Relay, ChunksThatArriveTogetherGoOutAsOne) {
  auto out = raw_exchange(stack.port(),
                          "POST /olla/litellm/v1/burst-chunks HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
  ASSERT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
  const auto body = out.substr(out.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, chunk(kFrames[0] + kFrames[1] + kFrames[2]) + "0\r\n\r\n");
}

// The upstream resets its connection right behind the last bytes it sends, mid-body: olla relays
// what came and closes the client's connection at once (its reads after a short one ask the
// socket before waiting for epoll, which may have reported the reset with the data already).
TEST_F(Relay, ResetBehindTheDataEndsTheResponseAtOnce) {
  for (const std::string target : {"/v1/reset-mid-body", "/v1/reset-mid-chunks"}) {
    SCOPED_TRACE(target);
    for (int round = 0; round < 2; ++round) {  // 4 failures: the breaker opens at 5
      bool closed = false;
      const auto out = raw_exchange(
          stack.port(),
          "POST /olla/litellm" + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
          std::chrono::milliseconds(5000), &closed);
      EXPECT_TRUE(closed) << "olla still waits for a connection that was reset: " << out;
      EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
      EXPECT_NE(out.find("first sixteen b."), std::string::npos) << out;
      EXPECT_EQ(out.find("\r\n0\r\n\r\n"), std::string::npos) << "a cut body was ended: " << out;
    }
  }
}

// Reads one response (framed by Content-Length) from a blocking socket (plain recv: Asio's
// blocking reads poll on past SO_RCVTIMEO).
std::string read_response(tcp::socket& c) {
  std::string out;
  char buf[4096];
  while (!response_complete(out)) {
    const auto n = ::recv(c.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// A client that sends its next request and shuts its side down at once (data and FIN in one
// event, on a connection already registered with epoll) gets its answer, and then its connection
// closed, not held until the idle timeout.
TEST_F(Relay, HalfClosedClientIsAnsweredAndClosed) {
  const std::string get = "GET /olla/litellm/v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int round = 0; round < 5; ++round) {
    asio::io_context ioc;
    tcp::socket c(ioc);
    c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), stack.port()));
    const timeval wait{5, 0};
    ::setsockopt(c.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    asio::write(c, asio::buffer(get));
    const auto first = read_response(c);
    EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // olla waits for the next one
    asio::write(c, asio::buffer(get));
    c.shutdown(tcp::socket::shutdown_send);
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(c.native_handle(), buf, sizeof buf, 0)) > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(n, 0) << "the connection was not closed within 5 s: " << std::strerror(errno);
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("raw-model"), std::string::npos) << out;
  }
}

TEST_F(Relay, ErrorBodyTooLargeToHoldIsRelayedWhole) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/big-error", "{}");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("content-length"), std::to_string(kBigError.size()));
  EXPECT_EQ(r.body.size(), kBigError.size());
  EXPECT_TRUE(r.body == kBigError) << "the body is passed through unchanged";
  EXPECT_EQ(r.header("x-olla-endpoint"), "raw");
}

TEST_F(Relay, HeadKeepsTheLengthAndSendsNoBody) {
  const std::string head = "HEAD /olla/litellm/v1/head HTTP/1.1\r\nHost: x\r\n\r\n";
  auto out = raw_exchange(stack.port(), head +
                                            "GET /olla/litellm/v1/models HTTP/1.1\r\nHost: x\r\n"
                                            "Connection: close\r\n\r\n");
  const auto first_end = out.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << out;
  EXPECT_NE(out.substr(0, first_end).find("Content-Length: 277"), std::string::npos) << out;
  // Right after the HEAD answer's head comes the next answer: no body in between.
  EXPECT_EQ(out.compare(first_end + 4, 12, "HTTP/1.1 200"), 0) << out;
}

TEST_F(Relay, NoContentHasNoBodyAndNoFraming) {
  auto out = raw_exchange(stack.port(),
                          "POST /olla/litellm/v1/no-content HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(out.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("X-Upstream: yes"), std::string::npos) << out;
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.find("\r\n\r\n") + 4), "") << "no body after a 204";
}

TEST_F(Relay, UpstreamCannotSpoofOllasOwnHeaders) {
  auto out = raw_exchange(stack.port(),
                          "POST /olla/litellm/v1/own-headers HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
  EXPECT_EQ(count(out, "X-Olla-Endpoint: "), 1u) << out;
  EXPECT_NE(out.find("X-Olla-Endpoint: raw\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("spoofed"), std::string::npos) << out;
}

}  // namespace
}  // namespace olla::test

namespace olla::test {
namespace {

// A client that hangs up while olla waits on the upstream: olla closes its upstream connection
// (LiteLLM stops generating) without waiting for an answer that may take minutes. Whether the
// client leaves before or after olla starts watching its socket, a tick into the wait, and on a
// connection that has had an answered request before (its watch is the connection's, reused).
bool upstream_closed_after_hang_up(RawUpstream& upstream, std::uint16_t port,
                                   std::chrono::milliseconds stay, bool answered_before = false) {
  asio::io_context ioc;
  tcp::socket c(ioc);
  c.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  if (answered_before) {
    asio::write(c, asio::buffer(std::string("POST /olla/litellm/v1/own-headers HTTP/1.1\r\n"
                                            "Host: x\r\nContent-Length: 2\r\n\r\n{}")));
    std::string got;
    char buf[4096];
    while (!response_complete(got)) {
      boost::system::error_code ec;
      const auto n = c.read_some(asio::buffer(buf), ec);
      if (ec) return false;
      got.append(buf, n);
    }
    if (parse_response(got).status != 200) return false;
  }
  const std::string req =
      "POST /olla/litellm/v1/silent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 21\r\n\r\n{\"model\":\"raw-model\"}";
  asio::write(c, asio::buffer(req));
  std::this_thread::sleep_for(stay);
  const int before = upstream.silent_closed();
  c.close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (upstream.silent_closed() == before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return upstream.silent_closed() > before;
}

TEST_F(Relay, ClientHangUpWhileWaitingClosesTheUpstream) {
  EXPECT_TRUE(
      upstream_closed_after_hang_up(upstream, stack.port(), std::chrono::milliseconds(300)));
}

TEST_F(Relay, ClientHangUpBeforeTheWatchStartsClosesTheUpstream) {
  EXPECT_TRUE(upstream_closed_after_hang_up(upstream, stack.port(), std::chrono::milliseconds(0)));
}

TEST_F(Relay, ClientHangUpOnAKeptAliveConnectionClosesTheUpstream) {
  EXPECT_TRUE(
      upstream_closed_after_hang_up(upstream, stack.port(), std::chrono::milliseconds(300), true));
  EXPECT_TRUE(
      upstream_closed_after_hang_up(upstream, stack.port(), std::chrono::milliseconds(0), true));
}

}  // namespace
}  // namespace olla::test
