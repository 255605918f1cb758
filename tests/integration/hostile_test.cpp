// Hostile clients over real loopback sockets: malformed HTTP, request smuggling, requests cut at
// every byte, an idle-connection flood, slowloris, and streams abandoned by their clients.
// The contract (spec sections 1, 3, 5): a JSON 4xx with X-Olla-Request-ID, or a clean close; a
// broken request never reaches a backend (and never as two); everyone else keeps being served.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace olla::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kChatPath = "/olla/litellm/v1/chat/completions";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// ---------------------------------------------------------------- raw sockets

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Fd connect_loopback(std::uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.ok()) return fd;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Fd();
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

struct Exchange {
  std::string data;       // everything the gateway sent
  bool closed = false;    // the gateway closed (FIN or RST) before the deadline
  double closed_ms = -1;  // when, since the connection was made
};

// Reads from fd until the peer closes or the deadline passes, sending `bytes` meanwhile (reading
// as it goes, so a gateway that answers early and stops reading cannot wedge the client).
// With `grace`, stops that long after a whole response arrived (for connections that may stay
// open), still catching a second response that follows at once.
Exchange pump(int fd, std::string_view bytes, Clock::time_point start, Clock::time_point deadline,
              bool half_close, std::optional<std::chrono::milliseconds> grace = std::nullopt) {
  Exchange out;
  set_nonblocking(fd);
  std::size_t sent = 0;
  bool writing = true;
  char buf[16384];
  for (;;) {
    if (writing && sent == bytes.size()) {
      writing = false;
      if (half_close) ::shutdown(fd, SHUT_WR);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        out.data.append(buf, static_cast<std::size_t>(n));
        if (grace && response_complete(out.data))
          deadline = std::min(deadline, Clock::now() + *grace);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        out.closed = true;
        out.closed_ms = ms_since(start);
        break;
      }
    }
    if (writing && (p.revents & POLLOUT)) {
      const auto n = ::send(fd, bytes.data() + sent,
                            std::min<std::size_t>(bytes.size() - sent, 64 * 1024), MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        writing = false;  // the gateway stopped reading (and closed); its answer may be queued
      }
    }
  }
  return out;
}

Exchange exchange(std::uint16_t port, std::string_view bytes,
                  std::chrono::milliseconds timeout = 3000ms, bool half_close = false,
                  std::optional<std::chrono::milliseconds> grace = std::nullopt) {
  Fd fd = connect_loopback(port);
  if (!fd.ok()) {
    ADD_FAILURE() << "connect to 127.0.0.1:" << port << " failed: " << std::strerror(errno);
    return {};
  }
  const auto start = Clock::now();
  return pump(fd.get(), bytes, start, start + timeout, half_close, grace);
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Under ASan or TSan the allocator keeps freed memory (quarantine, shadow, per-thread caches),
// so VmRSS says nothing about leaks there; LeakSanitizer checks those instead.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// ---------------------------------------------------------------- raw HTTP

std::string printable(std::string_view s, std::size_t max = 400) {
  std::string out;
  for (char c : s.substr(0, max)) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string hex(std::size_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "%zx", n);
  return b;
}

std::string chunked(const std::string& body, std::size_t pieces = 3) {
  std::string out;
  const std::size_t step = std::max<std::size_t>(1, (body.size() + pieces - 1) / pieces);
  for (std::size_t i = 0; i < body.size(); i += step) {
    const auto piece = body.substr(i, step);
    out += hex(piece.size()) + "\r\n" + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// A POST to the chat route with the given extra header lines ("Name: value\r\n" each) and raw body
// bytes, exactly as given: no framing header is added.
std::string post(const std::string& extra, const std::string& body,
                 const std::string& target = kChatPath, const std::string& version = "HTTP/1.1") {
  return "POST " + target + " " + version +
         "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra + "\r\n" + body;
}

std::string cl(std::size_t n) { return "Content-Length: " + std::to_string(n) + "\r\n"; }

// A JSON error from the gateway: the status, the envelope, the request id, nothing after it, and
// the connection closed (the framing of whatever follows cannot be trusted).
void expect_json_error(const Exchange& x, const std::vector<int>& statuses,
                       bool must_close = true) {
  const auto r = parse_response(x.data);
  ASSERT_NE(r.consumed, 0u) << "expected a JSON 4xx, got: " << printable(x.data)
                            << (x.closed ? " (then closed)" : " (connection left open)");
  EXPECT_TRUE(std::find(statuses.begin(), statuses.end(), r.status) != statuses.end())
      << "status " << r.status << " is not an expected one; response: " << printable(x.data);
  EXPECT_TRUE(r.status >= 400 && r.status < 600) << r.status;
  EXPECT_TRUE(r.has("x-olla-request-id")) << printable(x.data);
  EXPECT_NE(r.head.find("\r\ncontent-type: application/json"), std::string::npos)
      << printable(x.data);
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_object()) << printable(x.data);
  EXPECT_EQ(j["error"]["code"], r.status);
  EXPECT_TRUE(j["error"]["type"].is_string());
  EXPECT_EQ(x.data.size(), r.consumed) << "bytes after the error response (a second response?): "
                                       << printable(x.data.substr(r.consumed));
  if (must_close) {
    EXPECT_TRUE(x.closed) << "the gateway kept a connection with broken framing open";
  }
}

Response chat(std::uint16_t port, const Headers& headers = {}) {
  return request(port, "POST", kChatPath, chat_body("gpt-4", false), headers);
}

// A real chat completion from the mock, not an error or someone else's response.
void expect_chat_ok(const Response& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.value("object", "") == "chat.completion") << r.body;
  EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
}

json endpoint_status(std::uint16_t port) {
  auto r = request(port, "GET", "/internal/status/endpoints");
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j["endpoints"].is_array() || j["endpoints"].size() != 1) return nullptr;
  return j["endpoints"][0];
}

void expect_endpoint_clean(std::uint16_t port) {
  const auto ep = endpoint_status(port);
  ASSERT_TRUE(ep.is_object()) << "no /internal/status/endpoints";
  EXPECT_EQ(ep["status"], "healthy") << ep.dump();
  EXPECT_EQ(ep["failures"], 0) << ep.dump();
  EXPECT_EQ(ep["in_flight"], 0) << ep.dump();
  EXPECT_EQ(ep["circuit_breaker"]["state"], "closed") << ep.dump();
}

// Probes far apart (60 s): once discovery is done, the mock's request counter moves only for
// the requests a test sends.
void settle(mock::MockLiteLLM& m) {
  auto last = m.requests();
  auto stable_since = Clock::now();
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && Clock::now() - stable_since < 300ms) {
    std::this_thread::sleep_for(20ms);
    if (const auto now = m.requests(); now != last) {
      last = now;
      stable_since = Clock::now();
    }
  }
}

class HostileBase : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack.wait_healthy(1));
    settle(stack.mock());
  }
  Stack stack{{mock::MockOptions{}}, "", "60s"};
};

// ---------------------------------------------------------------- 1. malformed requests

enum class Expect {
  json_error,       // a JSON error (one of `statuses`), then the connection is closed
  silent_close,     // no byte back; the gateway closes
  forwarded_fixed,  // legal but obsolete syntax: normalized, forwarded once, answered 200
};

struct Case {
  std::string name;
  std::string bytes;
  Expect expect;
  std::vector<int> statuses = {};
  bool half_close = false;
  // A well-framed request refused for its content (a bad path) may keep its connection.
  bool must_close = true;
};

std::vector<Case> malformed_cases() {
  const std::string body = chat_body("gpt-4", false);
  const std::string te = "Transfer-Encoding: chunked\r\n";
  std::string many_headers;
  for (int i = 0; i < 10'000; ++i) {
    char line[40];
    std::snprintf(line, sizeof line, "X-Header-%05d: v\r\n", i);
    many_headers += line;
  }
  const std::string huge_value(100 * 1024, 'a');
  const std::string huge_target =
      "/olla/litellm/v1/chat/completions?q=" + std::string(100 * 1024, 'q');

  std::vector<Case> c;
  // Request lines.
  c.push_back({"not HTTP at all", "THIS IS NOT HTTP\r\n\r\n", Expect::json_error, {400}});
  c.push_back({"space inside the method",
               "GE T /olla/litellm/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
               Expect::json_error,
               {400}});
  c.push_back(
      {"missing target", "GET HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Expect::json_error, {400}});
  c.push_back({"junk after the version",
               "GET /olla/litellm/v1/models HTTP/1.1x\r\nHost: 127.0.0.1\r\n\r\n",
               Expect::json_error,
               {400}});
  c.push_back({"TLS ClientHello on the plain port",
               std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                   std::string(64, '\x00') + "\r\n\r\n",
               Expect::json_error,
               {400}});
  // HTTP/9.9: no such protocol; 505 is the precise answer, 400 acceptable, serving it is not.
  c.push_back({"HTTP/9.9",
               post(cl(body.size()), body, kChatPath, "HTTP/9.9"),
               Expect::json_error,
               {400, 505}});
  c.push_back(
      {"NUL byte in the target",
       std::string("GET /olla/litellm/v1/mo") + '\0' + "dels HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
       Expect::json_error,
       {400}});
  // Chunked framing.
  c.push_back(
      {"invalid chunk size hex", post(te, "zz\r\nhello\r\n0\r\n\r\n"), Expect::json_error, {400}});
  c.push_back({"chunk size overflowing 64 bits",
               post(te, "ffffffffffffffffff\r\n" + body + "\r\n0\r\n\r\n"),
               Expect::json_error,
               {400, 413}});
  c.push_back({"chunk size far over max_body_size",
               post(te, "7fffffffffffffff\r\n" + body + "\r\n0\r\n\r\n"),
               Expect::json_error,
               {400, 413}});
  c.push_back({"chunk data longer than its size",
               post(te, "5\r\nhelloEXTRA\r\n0\r\n\r\n"),
               Expect::json_error,
               {400}});
  c.push_back(
      {"negative chunk size", post(te, "-5\r\nhello\r\n0\r\n\r\n"), Expect::json_error, {400}});
  // Framing conflicts (the smuggling primitives).
  c.push_back({"Content-Length then Transfer-Encoding",
               post(cl(body.size()) + te, chunked(body)),
               Expect::json_error,
               {400}});
  c.push_back({"Transfer-Encoding then Content-Length",
               post(te + cl(body.size()), chunked(body)),
               Expect::json_error,
               {400}});
  c.push_back({"two different Content-Length",
               post(cl(body.size()) + cl(body.size() + 7), body),
               Expect::json_error,
               {400}});
  c.push_back({"Content-Length list with different values",
               post("Content-Length: " + std::to_string(body.size()) + ", 7\r\n", body),
               Expect::json_error,
               {400}});
  c.push_back(
      {"negative Content-Length", post("Content-Length: -1\r\n", body), Expect::json_error, {400}});
  c.push_back({"Content-Length overflowing 64 bits",
               post("Content-Length: 99999999999999999999999\r\n", body),
               Expect::json_error,
               {400, 413}});
  c.push_back({"Transfer-Encoding twice", post(te + te, chunked(body)), Expect::json_error, {400}});
  // Transfer codings the gateway cannot decode: RFC 9112 6.1 (501) and 6.3 (chunked not final:
  // 400 and close). Either way the request must not reach a backend.
  c.push_back({"Transfer-Encoding: gzip, chunked",
               post("Transfer-Encoding: gzip, chunked\r\n", chunked(body)),
               Expect::json_error,
               {400, 501}});
  c.push_back({"Transfer-Encoding: chunked, identity",
               post("Transfer-Encoding: chunked, identity\r\n", chunked(body)),
               Expect::json_error,
               {400}});
  c.push_back({"Transfer-Encoding: identity",
               post("Transfer-Encoding: identity\r\n", chunked(body)),
               Expect::json_error,
               {400}});
  // Paths.
  for (const char* path :
       {"/olla/litellm/v1/chat%zz/completions", "/olla/litellm/v1/chat/completions%",
        "/olla/litellm/v1/chat/completions%4", "/olla/litellm/v1/%G0/completions",
        "/olla/litellm/v1/chat%00/completions"}) {
    c.push_back({std::string("bad percent-encoding ") + path,
                 post(cl(body.size()), body, path),
                 Expect::json_error,
                 {400},
                 false,
                 /*must_close=*/false});
  }
  // Header fields.
  c.push_back({"NUL byte in a header value",
               post(std::string("X-Note: a") + '\0' + "b\r\n" + cl(body.size()), body),
               Expect::json_error,
               {400}});
  c.push_back({"bare CR in a header value",
               post("X-Note: a\rInjected: 1\r\n" + cl(body.size()), body),
               Expect::json_error,
               {400}});
  c.push_back({"header name with a space",
               post("X Note: v\r\n" + cl(body.size()), body),
               Expect::json_error,
               {400}});
  c.push_back({"space before the colon",
               post("Content-Length : " + std::to_string(body.size()) + "\r\n", body),
               Expect::json_error,
               {400}});
  c.push_back(
      {"empty header name", post(": v\r\n" + cl(body.size()), body), Expect::json_error, {400}});
  c.push_back({"10,000 header fields",
               post(many_headers + cl(body.size()), body),
               Expect::json_error,
               {431}});
  c.push_back({"a 100 KB header line",
               post("X-Big: " + huge_value + "\r\n" + cl(body.size()), body),
               Expect::json_error,
               {431}});
  c.push_back({"a 100 KB request target",
               post(cl(body.size()), body, huge_target),
               Expect::json_error,
               {414, 431}});
  // obs-fold: RFC 9112 5.2 lets a server replace it with SP instead of refusing. The gateway
  // (Beast) does; what reaches the backend must then carry no CR/LF.
  c.push_back({"obs-fold continuation line",
               post("X-Folded: first\r\n  second\r\n" + cl(body.size()), body),
               Expect::forwarded_fixed});
  // Cut short, then the client half-closes: nothing to answer, the gateway just closes.
  c.push_back({"header cut short then FIN",
               "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
               Expect::silent_close,
               {},
               true});
  c.push_back({"Content-Length body cut short then FIN",
               post(cl(body.size()), body.substr(0, body.size() / 2)),
               Expect::silent_close,
               {},
               true});
  c.push_back({"chunked body cut short then FIN",
               post(te, chunked(body).substr(0, chunked(body).size() - 9)),
               Expect::silent_close,
               {},
               true});
  return c;
}

TEST_F(HostileBase, MalformedRequestsGetAJson4xxOrACleanCloseAndNeverReachABackend) {
  const auto start = Clock::now();
  for (const auto& c : malformed_cases()) {
    SCOPED_TRACE("case: " + c.name + " | request: " + printable(c.bytes, 300));
    const auto before = stack.mock().requests();
    // A connection that may stay open is read until 300 ms after its response.
    const bool may_stay_open = !c.must_close || c.expect == Expect::forwarded_fixed;
    const auto x = exchange(stack.port(), c.bytes, 3000ms, c.half_close,
                            may_stay_open ? std::optional(300ms) : std::nullopt);
    const auto after = stack.mock().requests();
    std::cout << "[ hostile  ] " << c.name << ": status " << parse_response(x.data).status
              << (x.closed ? ", closed" : ", open") << ", backend +" << after - before << "\n";
    switch (c.expect) {
      case Expect::json_error:
        expect_json_error(x, c.statuses, c.must_close);
        EXPECT_EQ(after, before) << "a malformed request reached the backend; last request there: "
                                 << stack.mock().last_request().dump();
        break;
      case Expect::silent_close:
        EXPECT_TRUE(x.closed) << "connection left open";
        EXPECT_EQ(x.data, "") << "answered a request the client never finished: "
                              << printable(x.data);
        EXPECT_EQ(after, before) << "a truncated request reached the backend";
        break;
      case Expect::forwarded_fixed: {
        const auto r = parse_response(x.data);
        EXPECT_EQ(r.status, 200) << printable(x.data);
        EXPECT_EQ(after, before + 1);
        const auto last = stack.mock().last_request();
        ASSERT_TRUE(last.is_object());
        const auto folded = last["headers"].value("x-folded", std::string("<missing>"));
        EXPECT_EQ(folded.find_first_of("\r\n"), std::string::npos) << printable(folded);
        EXPECT_EQ(folded, "first second");
        break;
      }
    }
    // The daemon serves the next client: a normal request on a new connection.
    const auto mid = stack.mock().requests();
    auto ok = chat(stack.port());
    expect_chat_ok(ok);
    EXPECT_EQ(stack.mock().requests(), mid + 1);
  }
  expect_endpoint_clean(stack.port());
  std::cout << "[ hostile  ] malformed table: " << malformed_cases().size() << " cases in "
            << ms_since(start) << " ms\n";
}

// ---------------------------------------------------------------- 2. smuggling

TEST_F(HostileBase, SmugglingNeverReachesABackendAsTwoRequests) {
  const std::string hidden_front =  // what a desynchronized gateway would parse and route
      "POST /olla/litellm/key/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  const std::string hidden_back =  // what a desynchronized backend would parse
      "POST /key/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  struct Variant {
    std::string name;
    std::string bytes;
  };
  std::vector<Variant> variants;
  {
    // CL.TE: a front honouring Content-Length forwards everything; one honouring chunked stops
    // at "0" and the rest becomes a second request.
    const std::string b = "0\r\n\r\n" + hidden_front;
    variants.push_back({"CL.TE", post(cl(b.size()) + "Transfer-Encoding: chunked\r\n", b)});
  }
  {
    // TE.CL: chunked carries the hidden request inside a chunk; Content-Length: 4 ends at it.
    const std::string b = hex(hidden_front.size()) + "\r\n" + hidden_front + "\r\n0\r\n\r\n";
    variants.push_back({"TE.CL", post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", b)});
  }
  {
    // TE.TE, obfuscated: the first Transfer-Encoding field is not chunked, the second is. If the
    // gateway decodes chunked but forwards the fields as they came, a backend reading the same
    // fields frames the decoded bytes as chunked again: a valid chat request ends at "0", the
    // rest is a second request (and its response waits on the upstream connection).
    const std::string decoded = chunked(chat_body("gpt-4", false), 1) + hidden_back;
    variants.push_back({"TE.TE identity+chunked",
                        post("Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
                             chunked(decoded, 1))});
  }
  {
    // chunked not final: a parser ignoring the field reads no body; the chunk holds a request.
    const std::string b = hex(hidden_front.size()) + "\r\n" + hidden_front + "\r\n0\r\n\r\n";
    variants.push_back(
        {"TE: chunked, identity", post("Transfer-Encoding: chunked, identity\r\n", b)});
  }
  {
    const std::string b = "0\r\n\r\n" + hidden_front;
    variants.push_back({"CL.CL", post(cl(0) + cl(b.size()), b)});
  }
  {
    const std::string b = "0\r\n\r\n" + hidden_front;
    variants.push_back(
        {"CL + TE with odd spacing", post(cl(b.size()) + "Transfer-Encoding:\tchunked \r\n", b)});
  }

  for (const auto& v : variants) {
    SCOPED_TRACE("variant: " + v.name + " | request: " + printable(v.bytes, 500));
    const auto before = stack.mock().requests();
    const auto x = exchange(stack.port(), v.bytes, 2000ms, false, 500ms);
    std::this_thread::sleep_for(200ms);  // a request queued behind the first one lands by now
    const auto grew = stack.mock().requests() - before;
    EXPECT_LE(grew, 1u) << "one client request reached the backend as " << grew
                        << "; gateway answered: " << printable(x.data);
    const auto last = stack.mock().last_request();
    if (last.is_object()) {
      EXPECT_EQ(last["target"].get<std::string>().find("key/generate"), std::string::npos)
          << "the smuggled request reached the backend: " << last.dump();
    }
    // The next clients get their own answers: a smuggled request left queued on a pooled
    // upstream connection would answer one of them instead (response desync).
    const auto mid = stack.mock().requests();
    for (int i = 0; i < 4; ++i) {
      SCOPED_TRACE("follow-up request " + std::to_string(i));
      expect_chat_ok(chat(stack.port()));
      const auto l = stack.mock().last_request();
      ASSERT_TRUE(l.is_object());
      EXPECT_EQ(l["target"], "/v1/chat/completions") << l.dump();
    }
    EXPECT_EQ(stack.mock().requests(), mid + 4)
        << "the backend saw requests nobody sent; last: " << stack.mock().last_request().dump();
  }
}

// The worst outcome of a request hidden from the gateway: its response, sent late, waits on the
// pooled upstream connection and answers the next client's request instead (response desync).
TEST_F(HostileBase, SmuggledResponseNeverAnswersTheNextClient) {
  // The backend answers the hidden request only after 300 ms, so the pooled connection still
  // looks clean when the next request takes it.
  const std::string hidden =
      "POST /key/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nx-mock-fail: slow-headers\r\n"
      "x-mock-delay-ms: 300\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  const std::string decoded = chunked(chat_body("gpt-4", false), 1) + hidden;
  const std::string bytes =
      post("Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n", chunked(decoded, 1));
  SCOPED_TRACE("request: " + printable(bytes, 600));
  const auto before = stack.mock().requests();
  const auto x = exchange(stack.port(), bytes, 2000ms, false, 0ms);
  std::cout << "[ hostile  ] TE.TE smuggling answered: " << parse_response(x.data).status << "\n";
  // Next clients, at once, from new connections (either gateway thread, hence several).
  int wrong = 0;
  for (int i = 0; i < 8; ++i) {
    auto r = chat(stack.port());
    auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || j.value("object", "") != "chat.completion") {
      ++wrong;
      ADD_FAILURE() << "follow-up " << i << " got another request's response: " << r.status << " "
                    << r.body;
    }
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(wrong, 0);
  EXPECT_LE(stack.mock().requests() - before, 9u)
      << "the backend saw more requests than clients sent (8 follow-ups + at most 1)";
}

// ---------------------------------------------------------------- 3. cut at every byte offset

TEST_F(HostileBase, RequestsCutAtEveryByteNeverReachTheBackendAndLeaveNoTrace) {
  const std::string body = chat_body("gpt-4", false);
  const std::string fields =
      "Authorization: Bearer sk-hostile-0123456789\r\nX-Request-ID: cut-every-byte\r\n"
      "Accept: application/json\r\nConnection: close\r\n";
  const std::vector<std::string> requests = {
      post(fields + cl(body.size()), body),
      post(fields + "Transfer-Encoding: chunked\r\n", chunked(body, 4)),
  };
  ASSERT_GE(requests[0].size(), 250u);

  // The whole request is a real one: the mock sees it once, the client gets a chat completion.
  auto before = stack.mock().requests();
  for (const auto& req : requests) {
    const auto x = exchange(stack.port(), req);
    const auto r = parse_response(x.data);
    EXPECT_EQ(r.status, 200) << printable(x.data);
    EXPECT_NE(r.body.find("chat.completion"), std::string::npos) << printable(x.data);
  }
  ASSERT_EQ(stack.mock().requests(), before + requests.size());

  // Every strict prefix, three ways of leaving: FIN at once, FIN after a pause (the gateway has
  // parsed the prefix and is waiting), RST.
  struct Job {
    std::size_t request, cut;
    int mode;
  };
  std::vector<Job> jobs;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    for (std::size_t k = 0; k < requests[r].size(); ++k) {
      for (int mode = 0; mode < 3; ++mode) jobs.push_back({r, k, mode});
    }
  }
  settle(stack.mock());
  before = stack.mock().requests();
  const auto fds_before = open_fds();
  const auto start = Clock::now();
  std::atomic<std::size_t> next{0};
  std::atomic<int> connect_failures{0}, send_failures{0};
  std::atomic<int> answered{0};  // cut requests that got bytes back (they must not)
  std::vector<std::thread> clients;
  for (int t = 0; t < 40; ++t) {
    clients.emplace_back([&] {
      for (std::size_t i = next++; i < jobs.size(); i = next++) {
        const auto& job = jobs[i];
        Fd fd = connect_loopback(stack.port());
        if (!fd.ok()) {
          ++connect_failures;
          continue;
        }
        if (!send_all(fd.get(), std::string_view(requests[job.request]).substr(0, job.cut))) {
          ++send_failures;
        }
        if (job.mode == 1) {
          std::this_thread::sleep_for(5ms);
          char c;
          if (::recv(fd.get(), &c, 1, MSG_DONTWAIT) > 0) ++answered;
        }
        if (job.mode == 2) {
          linger l{1, 0};
          ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(connect_failures.load(), 0);
  EXPECT_EQ(send_failures.load(), 0);
  EXPECT_EQ(answered.load(), 0) << "the gateway answered a request that was still incomplete";
  // Every session ends: the gateway's ends of those sockets are closed again.
  EXPECT_TRUE(wait_for([&] { return open_fds() <= fds_before + 2; }, 5s))
      << "open descriptors: " << open_fds() << ", before the cut clients: " << fds_before;
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(stack.mock().requests(), before)
      << "a truncated request reached the backend as complete; last: "
      << stack.mock().last_request().dump();
  std::cout << "[ hostile  ] " << jobs.size() << " cut requests (" << requests[0].size() << " + "
            << requests[1].size() << " bytes x 3 modes, 40 clients) in " << ms_since(start)
            << " ms\n";

  // The gateway still answers, and the backend saw exactly the complete requests.
  for (const auto& req : requests) {
    const auto x = exchange(stack.port(), req);
    EXPECT_EQ(parse_response(x.data).status, 200) << printable(x.data);
  }
  expect_chat_ok(chat(stack.port()));
  EXPECT_EQ(stack.mock().requests(), before + requests.size() + 1);
  expect_endpoint_clean(stack.port());
}

// ---------------------------------------------------------------- 4. idle flood

TEST(HostileIdle, TwoThousandIdleConnectionsDoNotDelayARealRequest) {
  constexpr std::size_t kIdle = 2000;
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  const rlim_t need = kIdle * 2 + 1024;  // both ends live in this process
  if (rl.rlim_cur < need) {
    rlimit want = rl;
    want.rlim_cur = std::min<rlim_t>(std::max<rlim_t>(need, 8192), rl.rlim_max);
    if (want.rlim_cur < need || ::setrlimit(RLIMIT_NOFILE, &want) != 0) {
      GTEST_SKIP() << "RLIMIT_NOFILE is " << rl.rlim_cur << " (hard " << rl.rlim_max << "); need "
                   << need;
    }
  }
  Stack stack({mock::MockOptions{}}, "", "60s", {},
              [](config::Config& c) { c.server.header_timeout = std::chrono::seconds(30); });
  ASSERT_TRUE(stack.wait_healthy(1));
  expect_chat_ok(chat(stack.port()));

  std::this_thread::sleep_for(100ms);  // the warm-up's session has noticed its client left
  const auto fds_before = open_fds();
  std::vector<Fd> idle;
  idle.reserve(kIdle);
  const auto start = Clock::now();
  for (std::size_t i = 0; i < kIdle; ++i) {
    idle.push_back(connect_loopback(stack.port()));
    ASSERT_TRUE(idle.back().ok()) << "connection " << i << ": " << std::strerror(errno);
  }
  // The gateway has accepted them all: its ends are descriptors of this process too.
  ASSERT_TRUE(wait_for([&] { return open_fds() + 4 >= fds_before + 2 * kIdle; }, 10s))
      << "open descriptors " << open_fds() << ", expected ~" << fds_before + 2 * kIdle;
  const double opened_ms = ms_since(start);

  const auto t0 = Clock::now();
  auto r = chat(stack.port());
  const double took_ms = ms_since(t0);
  expect_chat_ok(r);
  EXPECT_LT(took_ms, 1000.0) << "a real request waited behind " << kIdle << " idle connections";
  std::cout << "[ hostile  ] " << kIdle << " idle connections opened in " << opened_ms
            << " ms; chat request answered in " << took_ms << " ms\n";

  // The idle ones are still held, and served when they finally speak.
  for (std::size_t i : {std::size_t{0}, kIdle / 3, kIdle / 2, kIdle - 1}) {
    SCOPED_TRACE("idle connection " + std::to_string(i));
    const auto x =
        pump(idle[i].get(),
             "GET /internal/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             Clock::now(), Clock::now() + 3s, false);
    EXPECT_EQ(parse_response(x.data).status, 200) << printable(x.data);
  }
  idle.clear();
  EXPECT_TRUE(wait_for([&] { return open_fds() <= fds_before + 2; }, 10s))
      << "sessions of closed clients linger: " << open_fds() << " descriptors, " << fds_before
      << " before";
  expect_endpoint_clean(stack.port());
}

// ---------------------------------------------------------------- 5. slowloris

// Sends one byte every `every` until the gateway closes or `limit` passes; returns when it closed
// (ms since `start`), or -1.
double trickle_until_closed(int fd, Clock::time_point start, std::chrono::milliseconds every,
                            std::chrono::milliseconds limit, std::string& got) {
  set_nonblocking(fd);
  const auto deadline = start + limit;
  auto next_byte = Clock::now() + every;
  char buf[4096];
  while (Clock::now() < deadline) {
    const auto until = std::min(next_byte, deadline);
    const auto wait = std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(wait));
    if (r > 0) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return ms_since(start);
    }
    if (Clock::now() >= next_byte) {
      if (::send(fd, "a", 1, MSG_NOSIGNAL) != 1 && errno != EAGAIN) return ms_since(start);
      next_byte += every;
    }
  }
  return -1;
}

void expect_dropped_in_time(double closed_ms, const std::string& got) {
  ASSERT_GE(closed_ms, 0) << "a client trickling its header was still connected after 6 s";
  EXPECT_GE(closed_ms, 400.0) << "dropped before header_timeout (500 ms)";
  EXPECT_LE(closed_ms, 2000.0) << "held well past header_timeout (500 ms)";
  // Closing is enough; if the gateway says why, it says it as a 408.
  EXPECT_TRUE(got.empty() || got.rfind("HTTP/1.1 408", 0) == 0) << printable(got);
}

TEST(HostileSlowloris, PartialHeaderTrickleIsDroppedWithinTheHeaderTimeout) {
  Stack stack({mock::MockOptions{}}, "", "60s", {},
              [](config::Config& c) { c.server.header_timeout = std::chrono::milliseconds(500); });
  ASSERT_TRUE(stack.wait_healthy(1));
  settle(stack.mock());
  const auto before = stack.mock().requests();
  Fd fd = connect_loopback(stack.port());
  ASSERT_TRUE(fd.ok());
  const auto start = Clock::now();
  ASSERT_TRUE(send_all(fd.get(),
                       "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\n"
                       "Host: 127.0.0.1\r\nX-Slow: "));
  std::string got;
  const double closed_ms = trickle_until_closed(fd.get(), start, 200ms, 6000ms, got);
  std::cout << "[ hostile  ] slowloris dropped after " << closed_ms << " ms\n";
  expect_dropped_in_time(closed_ms, got);
  EXPECT_EQ(stack.mock().requests(), before);
  expect_chat_ok(chat(stack.port()));
}

// The same trickle as a keep-alive connection's second request: still a client stuck in its
// headers, so still header_timeout, not the (much longer) keep-alive idle timeout.
TEST(HostileSlowloris, TrickleAfterAKeepAliveRequestIsDroppedWithinTheHeaderTimeout) {
  Stack stack({mock::MockOptions{}}, "", "60s", {}, [](config::Config& c) {
    c.server.header_timeout = std::chrono::milliseconds(500);
    c.server.idle_timeout = std::chrono::seconds(5);
  });
  ASSERT_TRUE(stack.wait_healthy(1));
  Fd fd = connect_loopback(stack.port());
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(send_all(fd.get(), "GET /internal/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::string first;
  char buf[4096];
  while (parse_response(first).consumed == 0) {
    pollfd p{fd.get(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 3000), 0) << "no answer to the first request";
    const auto n = ::recv(fd.get(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "closed after the first request";
    first.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_EQ(parse_response(first).status, 200);
  const auto start = Clock::now();
  ASSERT_TRUE(send_all(fd.get(), "GET /internal/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  std::string got;
  const double closed_ms = trickle_until_closed(fd.get(), start, 200ms, 6000ms, got);
  std::cout << "[ hostile  ] keep-alive slowloris dropped after " << closed_ms << " ms\n";
  expect_dropped_in_time(closed_ms, got);
  expect_chat_ok(chat(stack.port()));
}

// ---------------------------------------------------------------- 6. aborted streams

TEST(HostileAbortedStreams, TwelveHundredAbandonedStreamsLeaveMemoryFlat) {
  mock::MockOptions m;
  m.chunk_delay_ms = 50;
  m.chunks = 400;  // 20 s of stream if nobody hangs up
  Stack stack({m}, "", "60s");
  ASSERT_TRUE(stack.wait_healthy(1));
  settle(stack.mock());
  const auto port = stack.port();
  const std::string body = chat_body("gpt-4", true);

  // Batches of 100 concurrent streams, each closed by its client after the first frame.
  auto abort_streams = [&](int total) {
    int ok = 0;
    for (int done = 0; done < total; done += 100) {
      const int n = std::min(100, total - done);
      std::atomic<int> got_frame{0};
      std::vector<std::thread> ts;
      ts.reserve(n);
      for (int i = 0; i < n; ++i) {
        ts.emplace_back([&] {
          auto s = stream(port, kChatPath, body, {{"x-mock-chunks", "400"}}, 1);
          if (s.head.status == 200 && s.frames.size() == 1 && !s.complete) ++got_frame;
        });
      }
      for (auto& t : ts) t.join();
      ok += got_frame.load();
    }
    return ok;
  };
  auto in_flight_zero = [&] {
    const auto ep = endpoint_status(port);
    return ep.is_object() && ep["in_flight"] == 0;
  };

  const auto start = Clock::now();
  const auto d0 = stack.mock().disconnects();
  EXPECT_EQ(abort_streams(200), 200);
  EXPECT_TRUE(wait_for([&] { return stack.mock().disconnects() >= d0 + 200; }, 10s))
      << "warm-up: the backend saw " << stack.mock().disconnects() - d0 << " hang-ups of 200";
  EXPECT_TRUE(wait_for(in_flight_zero, 5s));
  const long rss_before = rss_kb();
  const auto d1 = stack.mock().disconnects();

  EXPECT_EQ(abort_streams(1200), 1200);
  EXPECT_TRUE(wait_for([&] { return stack.mock().disconnects() >= d1 + 1200; }, 15s));
  EXPECT_TRUE(wait_for(in_flight_zero, 5s));
  std::this_thread::sleep_for(200ms);
  const long rss_after = rss_kb();
  const auto hangups = stack.mock().disconnects() - d1;
  std::cout << "[ hostile  ] 1,400 aborted streams in " << ms_since(start) << " ms; VmRSS "
            << rss_before << " kB -> " << rss_after << " kB (" << (rss_after - rss_before)
            << " kB); backend hang-ups " << hangups << "\n";
  ASSERT_GT(rss_before, 0);
  if (!kSanitized) {
    EXPECT_LT(std::labs(rss_after - rss_before), 8 * 1024L)
        << "VmRSS moved from " << rss_before << " kB to " << rss_after << " kB";
  }
  // Each abandoned stream closed its upstream at once: LiteLLM saw the hang-up and stopped.
  EXPECT_GE(hangups, 1188u);
  EXPECT_LE(hangups, 1200u);
  EXPECT_EQ(stack.mock().completed_streams(), 0u)
      << "a stream ran to the end after its client left";

  // Afterwards every request succeeds, and the hang-ups counted against nobody.
  for (int i = 0; i < 20; ++i) expect_chat_ok(chat(port));
  auto s = stream(port, kChatPath, body, {{"x-mock-chunks", "3"}, {"x-mock-delay-ms", "0"}});
  EXPECT_EQ(s.head.status, 200) << s.error;
  EXPECT_TRUE(s.complete) << s.error;
  ASSERT_FALSE(s.frames.empty());
  EXPECT_EQ(s.frames.back().data, "data: [DONE]");
  expect_endpoint_clean(port);
}

}  // namespace
}  // namespace olla::test
