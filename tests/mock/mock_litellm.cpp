// Mock LiteLLM proxy: Beast HTTP/1.1 keep-alive server on C++20 coroutines.
//
// Threading: one io_context per thread (concurrency hint 1). A single acceptor lives on the
// first io_context and hands accepted sockets round-robin to the io_contexts, so every session
// runs on exactly one thread and needs no strand.
//
// Responses are serialized by hand into a per-connection buffer (a gather write of head and
// body); Beast parses the requests. Every read and write has a deadline (beast::tcp_stream);
// waits (stream delays, hang, slow-headers) are cancelled by the hang-up watcher or by stop().
//
// TLS (MockOptions::tls_cert_file/tls_key_file): every connection is a beast::ssl_stream over the
// beast::tcp_stream, behind one small wrapper (MockStream), so the session is written once.
// Deadlines, resets and the hang-up watcher work on the TCP layer in both modes.

#include "mock_litellm.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

namespace olla::mock {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;  // keeps LiteLLM's key order in the bodies we build
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kBodyLimit = 64ull * 1024 * 1024;
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr auto kIdleTimeout = 300s;      // keep-alive idle / request read deadline
constexpr auto kWriteTimeout = 30s;      // per write
constexpr auto kHandshakeTimeout = 10s;  // TLS handshake
constexpr auto kShutdownTimeout = 2s;    // TLS close_notify exchange when we close
constexpr int kDefaultSlowHeadersMs = 2000;
constexpr int kMaxChunks = 1000000;
constexpr int kMaxDelayMs = 3600 * 1000;
constexpr std::int64_t kModelsCreated = 1698959748;
constexpr int kPromptTokens = 25;

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

enum class Fail : int {
  kNone,
  k429,
  kNoDeployments,
  k500,
  k401,
  kMidstream,
  kReset,
  kHang,
  kSlowHeaders,
  kUnknown
};

Fail parse_fail(std::string_view s) {
  if (s.empty() || s == "none" || s == "off") return Fail::kNone;
  if (s == "429") return Fail::k429;
  if (s == "no-deployments") return Fail::kNoDeployments;
  if (s == "500") return Fail::k500;
  if (s == "401") return Fail::k401;
  if (s == "midstream") return Fail::kMidstream;
  if (s == "reset") return Fail::kReset;
  if (s == "hang") return Fail::kHang;
  if (s == "slow-headers") return Fail::kSlowHeaders;
  return Fail::kUnknown;
}

std::string_view fail_name(Fail f) {
  switch (f) {
    case Fail::k429:
      return "429";
    case Fail::kNoDeployments:
      return "no-deployments";
    case Fail::k500:
      return "500";
    case Fail::k401:
      return "401";
    case Fail::kMidstream:
      return "midstream";
    case Fail::kReset:
      return "reset";
    case Fail::kHang:
      return "hang";
    case Fail::kSlowHeaders:
      return "slow-headers";
    default:
      return "";
  }
}

// The words of the streamed answer, cycled. JSON-safe as they are.
constexpr std::array<std::string_view, 12> kWords = {
    "Quantum", " computing", " uses",          " qubits", " that",     " can",
    " exist",  " in",        " superposition", ",",       " enabling", " parallelism."};

enum class Route {
  kNotFound,
  kMethodNotAllowed,
  kLiveliness,
  kReadiness,
  kHealth,
  kModels,
  kModelInfo,
  kChat,
  kCompletions,
  kEmbeddings,
  kNoDb,
};

Route match_route(http::verb m, std::string_view path) {
  const bool get = m == http::verb::get;
  const bool post = m == http::verb::post;
  auto only = [](bool ok, Route r) { return ok ? r : Route::kMethodNotAllowed; };
  bool v1 = false;
  if (path.starts_with("/v1/")) {
    path.remove_prefix(3);
    v1 = true;
  }
  // OpenAI-compatible routes: LiteLLM serves them with and without /v1.
  if (path == "/chat/completions") return only(post, Route::kChat);
  if (path == "/completions") return only(post, Route::kCompletions);
  if (path == "/embeddings") return only(post, Route::kEmbeddings);
  if (path == "/models") return only(get, Route::kModels);
  if (path == "/model/info") return only(get, Route::kModelInfo);
  if (v1) return Route::kNotFound;
  if (path == "/health/liveliness" || path == "/health/liveness")
    return only(get, Route::kLiveliness);
  if (path == "/health/readiness") return only(get, Route::kReadiness);
  if (path == "/health") return only(get, Route::kHealth);
  if (path == "/key/generate") return only(post, Route::kNoDb);
  if (path == "/key/info" || path == "/user/info" || path == "/team/info")
    return only(get, Route::kNoDb);
  if (path == "/spend/calculate") return only(get || post, Route::kNoDb);
  return Route::kNotFound;
}

// JSON string literal (quoted, escaped); never throws on invalid UTF-8.
std::string json_quote(std::string_view s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

template <class J>
std::string dump(const J& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_json(std::string_view message, std::string_view type, std::string_view code) {
  std::string s = R"({"error":{"message":)";
  s += json_quote(message);
  s += R"(,"type":")";
  s += type;
  s += R"(","param":null,"code":")";
  s += code;
  s += R"("}})";
  return s;
}

template <class T>
void append_num(std::string& s, T v, int base = 10) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v, base);
  s.append(buf, r.ptr);
}

std::optional<long> parse_long(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  long v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One accepted connection, plain TCP or TLS behind the same type (like the gateway's
// UpstreamStream). Deadlines live on the TCP layer in both cases.
class MockStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;

  MockStream(tcp::socket s, asio::ssl::context* tls) {
    if (tls)
      tls_.emplace(std::move(s), *tls);
    else
      tcp_.emplace(std::move(s));
  }

  executor_type get_executor() { return lowest().get_executor(); }
  beast::tcp_stream& lowest() { return tls_ ? tls_->next_layer() : *tcp_; }
  tls_stream* tls() { return tls_ ? &*tls_ : nullptr; }
  tcp::socket& socket() { return lowest().socket(); }
  void expires_after(std::chrono::steady_clock::duration d) { lowest().expires_after(d); }
  void close() { lowest().close(); }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(handler));
          else
            tcp_->async_read_some(b, std::move(handler));
        },
        token, buffers);
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(handler));
          else
            tcp_->async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

 private:
  std::optional<beast::tcp_stream> tcp_;
  std::optional<tls_stream> tls_;
};

// Per-connection state.
struct Conn {
  MockStream stream;
  beast::flat_buffer buf;
  std::string head;     // response head scratch
  std::string frame;    // stream frame scratch
  std::string payload;  // stream payload scratch
  Conn(tcp::socket s, asio::ssl::context* tls) : stream(std::move(s), tls) {}
};

// Whether the next bytes waiting on a TLS connection are an alert record: the peer's close_notify
// (or a fatal alert), i.e. a hang-up. TLS 1.2 shows the record type (21). TLS 1.3 disguises every
// record as application data (23), but an alert is the shortest record there is: 2 bytes of alert
// and 1 of inner type under a 16-byte AEAD tag. No HTTP request fits in 2 bytes.
bool tls_alert_pending(int fd) {
  unsigned char h[5];
  const ssize_t n = ::recv(fd, h, sizeof h, MSG_PEEK | MSG_DONTWAIT);
  if (n < static_cast<ssize_t>(sizeof h)) return false;
  const unsigned len = (static_cast<unsigned>(h[3]) << 8) | h[4];
  return h[0] == 21 || (h[0] == 23 && len <= 2 + 1 + 16);
}

// Per-request context.
struct Ctx {
  bool keep = true;
  bool http10 = false;
  std::string_view request_id;
  int chunks = 0;
  int delay_ms = 0;
  bool delay_given = false;
  std::string model;
};

}  // namespace

struct MockLiteLLM::Impl {
  // Watches the socket for a hang-up while a response is being produced.
  struct Watch {
    Impl& impl;
    beast::tcp_stream& stream;
    asio::steady_timer timer;
    bool active = true;    // false once the response is over: the callback must do nothing
    bool waiting = false;  // an async_wait is outstanding
    bool hung_up = false;
    bool drain = false;    // discard incoming data instead of stopping at it (hang mode)
    bool tls = false;      // TLS records on the wire: an alert record is a hang-up
    bool drained = false;  // bytes were discarded: TLS record boundaries are lost
    Watch(Impl& i, beast::tcp_stream& s) : impl(i), stream(s), timer(s.get_executor()) {}
  };

  // Ends the watch when the response is over, before the next request is read.
  struct WatchGuard {
    std::shared_ptr<Watch> w;
    ~WatchGuard() {
      if (!w) return;
      w->active = false;
      // While stop() tears the io_context down, the wait is already gone.
      if (w->waiting && !w->impl.stopping.load(std::memory_order_relaxed)) {
        beast::error_code ec;
        w->stream.socket().cancel(ec);  // only the wait can be outstanding here
      }
    }
  };

  MockOptions opts;
  std::string server_line;  // "Server: <name>\r\n"

  // Precomputed bodies.
  std::string body_liveliness = R"("I'm alive!")";
  std::string body_readiness =
      R"({"status":"healthy","db":"Not connected","cache":null,"litellm_version":"1.50.0","success_callbacks":[]})";
  std::string body_health;
  std::string body_models;
  std::string body_model_info;
  std::string body_not_found = R"({"detail":"Not Found"})";
  std::string body_method_not_allowed = R"({"detail":"Method Not Allowed"})";
  std::string body_no_db = error_json("No connected db.", "no_db_connection", "500");

  // Stats.
  std::atomic<std::uint64_t> n_requests{0};
  std::atomic<std::uint64_t> n_llm_requests{0};
  std::atomic<std::uint64_t> n_disconnects{0};
  std::atomic<std::int64_t> last_disconnect_ns{0};
  std::atomic<std::uint64_t> n_completed_streams{0};
  std::atomic<std::uint64_t> n_tls_handshakes{0};
  std::atomic<std::uint64_t> n_tls_failures{0};
  mutable std::mutex sni_mu;
  std::string last_sni;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<int> fail_mode{static_cast<int>(Fail::kNone)};

  struct LastRequest {
    bool set = false;
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t n_headers = 0;
  };
  mutable std::mutex lr_mu;
  LastRequest lr;

  // Lifecycle.
  std::mutex life_mu;
  bool running = false;
  std::atomic<bool> stopping{false};
  unsigned short bound_port = 0;
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<asio::ssl::context> tls_ctx;  // HTTPS mode
  std::vector<std::thread> threads;

  explicit Impl(MockOptions o) : opts(std::move(o)) {
    server_line = "Server: " + opts.name + "\r\n";
    ojson healthy = ojson::array();
    ojson models = ojson::array();
    ojson info = ojson::array();
    for (const auto& m : opts.models) {
      std::string full = m.provider.empty() ? m.id : m.provider + "/" + m.id;
      healthy.push_back({{"model", full}});
      models.push_back(
          {{"id", m.id}, {"object", "model"}, {"created", kModelsCreated}, {"owned_by", "openai"}});
      if (!m.provider.empty()) {
        std::string id;
        append_num(id, fnv1a(full), 16);
        bool emb = m.id.find("embedding") != std::string::npos;
        info.push_back({{"model_name", m.id},
                        {"litellm_params", {{"model", full}}},
                        {"model_info",
                         {{"id", id},
                          {"litellm_provider", m.provider},
                          {"mode", emb ? "embedding" : "chat"}}}});
      }
    }
    body_health = dump(ojson{{"healthy_endpoints", healthy},
                             {"unhealthy_endpoints", ojson::array()},
                             {"healthy_count", healthy.size()},
                             {"unhealthy_count", 0}});
    body_models = dump(ojson{{"data", models}, {"object", "list"}});
    body_model_info = dump(ojson{{"data", info}});
  }

  ~Impl() { stop(); }

  // ---------------------------------------------------------------- lifecycle

  unsigned short start() {
    std::lock_guard lk(life_mu);
    if (running) return bound_port;
    const int n = std::max(1, opts.threads);
    if (opts.tls_cert_file.empty() != opts.tls_key_file.empty())
      throw std::invalid_argument("mock-litellm: tls_cert_file and tls_key_file go together");
    try {
      if (!opts.tls_cert_file.empty()) {
        tls_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        tls_ctx->set_options(asio::ssl::context::default_workarounds |
                             asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                             asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                             asio::ssl::context::single_dh_use);
        tls_ctx->use_certificate_chain_file(opts.tls_cert_file);  // throws on a bad file
        tls_ctx->use_private_key_file(opts.tls_key_file, asio::ssl::context::pem);
      }
      for (int i = 0; i < n; ++i) iocs.push_back(std::make_unique<asio::io_context>(1));
      tcp::resolver resolver(*iocs[0]);
      auto results = resolver.resolve(opts.host, std::to_string(opts.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service);
      if (results.empty()) throw std::runtime_error("mock-litellm: cannot resolve " + opts.host);
      tcp::endpoint ep = results.begin()->endpoint();
      acceptor.emplace(*iocs[0]);
      acceptor->open(ep.protocol());
      acceptor->set_option(tcp::acceptor::reuse_address(true));
      acceptor->bind(ep);
      acceptor->listen(asio::socket_base::max_listen_connections);
      bound_port = acceptor->local_endpoint().port();
    } catch (...) {
      acceptor.reset();
      iocs.clear();
      tls_ctx.reset();
      throw;
    }
    for (auto& ioc : iocs) guards.push_back(asio::make_work_guard(*ioc));
    asio::co_spawn(*iocs[0], accept_loop(), asio::detached);
    for (auto& ioc : iocs) {
      threads.emplace_back([ctx = ioc.get()] {
        for (;;) {
          try {
            ctx->run();
            break;
          } catch (...) {
            // A handler threw; keep serving.
          }
        }
      });
    }
    running = true;
    return bound_port;
  }

  void stop() {
    std::lock_guard lk(life_mu);
    if (!running) return;
    stopping = true;
    for (auto& ioc : iocs) ioc->stop();
    for (auto& t : threads) t.join();
    threads.clear();
    guards.clear();
    acceptor.reset();  // closes the listening socket
    // Destroying an io_context destroys its pending handlers, hence the suspended coroutine
    // frames and the sockets they own. The first one holds the acceptor loop, which refers to
    // the others' executors, so go in order.
    for (auto& ioc : iocs) ioc.reset();
    iocs.clear();
    tls_ctx.reset();  // after the sessions, which refer to it
    running = false;
    stopping = false;
  }

  // ---------------------------------------------------------------- stats

  void note_disconnect() {
    n_disconnects.fetch_add(1, std::memory_order_relaxed);
    last_disconnect_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                             std::memory_order_relaxed);
  }

  void record(const http::request<http::string_body>& req) {
    std::lock_guard lk(lr_mu);
    lr.set = true;
    lr.method.assign(req.method_string());
    lr.target.assign(req.target());
    std::size_t i = 0;
    for (const auto& f : req) {
      if (i == lr.headers.size()) lr.headers.emplace_back();
      auto& [name, value] = lr.headers[i++];
      name.assign(f.name_string());
      for (char& ch : name)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      value.assign(f.value());
    }
    lr.n_headers = i;
    lr.body.assign(req.body());
  }

  json last_request_json() const {
    std::lock_guard lk(lr_mu);
    if (!lr.set) return nullptr;
    json headers = json::object();
    for (std::size_t i = 0; i < lr.n_headers; ++i) {
      const auto& [name, value] = lr.headers[i];
      auto it = headers.find(name);
      if (it == headers.end())
        headers[name] = value;
      else
        it->get_ref<std::string&>() += ", " + value;
    }
    json j = {{"method", lr.method}, {"target", lr.target}, {"headers", std::move(headers)}};
    j["body"] = lr.body;
    json parsed = json::parse(lr.body, nullptr, false);
    j["json"] = parsed.is_discarded() ? json(nullptr) : std::move(parsed);
    return j;
  }

  ojson stats_json() const {
    return {{"name", opts.name},
            {"requests", n_requests.load()},
            {"disconnects", n_disconnects.load()},
            {"completed_streams", n_completed_streams.load()},
            {"tls", tls_ctx != nullptr},
            {"tls_handshakes", n_tls_handshakes.load()},
            {"tls_handshake_failures", n_tls_failures.load()},
            {"fail_mode", fail_name(static_cast<Fail>(fail_mode.load()))},
            {"last_request", last_request_json()}};
  }

  // ---------------------------------------------------------------- hang-up watcher

  std::shared_ptr<Watch> start_watch(Conn& c, bool drain) {
    auto w = std::make_shared<Watch>(*this, c.stream.lowest());
    w->drain = drain;
    w->tls = c.stream.tls() != nullptr;
    arm(w);
    return w;
  }

  static void arm(std::shared_ptr<Watch> w) {
    w->waiting = true;
    auto& sock = w->stream.socket();
    sock.async_wait(tcp::socket::wait_read, [w = std::move(w)](beast::error_code ec) mutable {
      on_readable(std::move(w), ec);
    });
  }

  static void on_readable(std::shared_ptr<Watch> w, beast::error_code ec) {
    w->waiting = false;
    if (!w->active || ec == asio::error::operation_aborted) return;
    if (!ec) {
      const int fd = w->stream.socket().native_handle();
      char scratch[4096];
      for (int rounds = 0;; ++rounds) {
        if (w->tls && !w->drained && tls_alert_pending(fd)) break;  // close_notify: hang-up
        ssize_t n = w->drain ? ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT)
                             : ::recv(fd, scratch, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {
          if (!w->drain) return;  // a pipelined request, not a hang-up: stop watching
          w->drained = true;
          if (rounds < 16) continue;
          arm(std::move(w));
          return;
        }
        if (n == 0) break;  // orderly hang-up
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {  // spurious wake-up
          arm(std::move(w));
          return;
        }
        break;  // hard error (ECONNRESET...)
      }
    }
    // The peer hung up: cancel the response.
    w->hung_up = true;
    w->impl.note_disconnect();
    w->timer.cancel();
    w->stream.close();
  }

  // Waits ms milliseconds (forever if ms < 0); false if the peer hung up meanwhile.
  static asio::awaitable<bool> pause(Watch& w, int ms) {
    if (w.hung_up) co_return false;
    if (ms < 0)
      w.timer.expires_at(asio::steady_timer::time_point::max());
    else
      w.timer.expires_after(std::chrono::milliseconds(ms));
    co_await w.timer.async_wait(tuple_awaitable);
    co_return !w.hung_up;
  }

  // ---------------------------------------------------------------- writing

  template <class Buffers>
  asio::awaitable<bool> write(Conn& c, Watch* w, const Buffers& bufs) {
    c.stream.expires_after(kWriteTimeout);
    auto [ec, n] = co_await asio::async_write(c.stream, bufs, tuple_awaitable);
    (void)n;
    if (ec) {
      if (w && !w->hung_up && ec != beast::error::timeout) {
        w->hung_up = true;
        note_disconnect();
      }
      co_return false;
    }
    co_return true;
  }

  void begin_head(std::string& h, unsigned status) {
    h.clear();
    h += "HTTP/1.1 ";
    append_num(h, status);
    h += ' ';
    h += http::obsolete_reason(http::int_to_status(status));
    h += "\r\n";
    h += server_line;
  }

  static void end_head(std::string& h, const Ctx& x, bool keep) {
    if (!x.request_id.empty()) {
      h += "x-request-id: ";
      h += x.request_id;
      h += "\r\n";
    }
    if (!keep)
      h += "Connection: close\r\n";
    else if (x.http10)
      h += "Connection: keep-alive\r\n";
    h += "\r\n";
  }

  // A complete response with Content-Length. Returns whether the connection stays open.
  asio::awaitable<bool> send(Conn& c, const Ctx& x, unsigned status, std::string_view body,
                             std::string_view extra_headers = {},
                             std::string_view content_type = "application/json") {
    auto& h = c.head;
    begin_head(h, status);
    h += "Content-Type: ";
    h += content_type;
    h += "\r\nContent-Length: ";
    append_num(h, body.size());
    h += "\r\n";
    h += extra_headers;
    end_head(h, x, x.keep);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(h), asio::buffer(body.data(), body.size())};
    if (!co_await write(c, nullptr, bufs)) co_return false;
    co_return x.keep;
  }

  // Same, owning the body: the string lives in this coroutine's frame across the write.
  asio::awaitable<bool> send_str(Conn& c, const Ctx& x, unsigned status, std::string body,
                                 std::string_view extra_headers = {}) {
    co_return co_await send(c, x, status, body, extra_headers);
  }

  static void reset_connection(Conn& c) {
    beast::error_code ec;
    c.stream.socket().set_option(tcp::socket::linger(true, 0), ec);
    c.stream.close();
  }

  // ---------------------------------------------------------------- streaming

  asio::awaitable<bool> write_frame(Conn& c, Watch& w, bool chunked, std::string_view payload,
                                    bool last) {
    auto& f = c.frame;
    f.clear();
    if (chunked) {
      append_num(f, payload.size() + 8, 16);  // "data: " + payload + "\n\n"
      f += "\r\n";
    }
    f += "data: ";
    f += payload;
    f += "\n\n";
    if (chunked) {
      f += "\r\n";
      if (last) f += "0\r\n\r\n";
    }
    co_return co_await write(c, &w, asio::buffer(f));
  }

  asio::awaitable<bool> stream_response(Conn& c, const Ctx& x, Watch& w, bool chat,
                                        bool include_usage, Fail mode) {
    const bool chunked = !x.http10;
    const bool keep = x.keep && chunked;
    auto& h = c.head;
    begin_head(h, 200);
    h += "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
    if (chunked) h += "Transfer-Encoding: chunked\r\n";
    h += "x-litellm-model-id: mock\r\n";
    end_head(h, x, keep);
    if (!co_await write(c, &w, asio::buffer(h))) co_return false;

    // {"id":"chatcmpl-N","object":"chat.completion.chunk","created":T,"model":M,"choices":[
    std::string prefix = chat ? R"({"id":"chatcmpl-)" : R"({"id":"cmpl-)";
    append_num(prefix, next_id.fetch_add(1, std::memory_order_relaxed));
    prefix += chat ? R"(","object":"chat.completion.chunk","created":)"
                   : R"(","object":"text_completion","created":)";
    append_num(prefix, unix_now());
    prefix += R"(,"model":)";
    prefix += json_quote(x.model);
    prefix += R"(,"choices":[)";

    auto& p = c.payload;
    bool first = true;
    // Delay between consecutive frames.
    auto gap_ms = [&]() {
      int d = first ? 0 : x.delay_ms;
      first = false;
      return d;
    };

    // Role chunk.
    p = prefix;
    p += chat ? R"({"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})"
              : R"({"index":0,"text":"","logprobs":null,"finish_reason":null}]})";
    if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
    if (!co_await write_frame(c, w, chunked, p, false)) co_return false;

    const bool broken = mode == Fail::kMidstream || mode == Fail::kReset;
    const int n = broken ? 2 : x.chunks;
    for (int i = 0; i < n; ++i) {
      p = prefix;
      p += chat ? R"({"index":0,"delta":{"content":")" : R"({"index":0,"text":")";
      p += kWords[static_cast<std::size_t>(i) % kWords.size()];
      p += chat ? R"("},"finish_reason":null}]})" : R"(","logprobs":null,"finish_reason":null}]})";
      if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
      if (!co_await write_frame(c, w, chunked, p, false)) co_return false;
    }

    if (mode == Fail::kReset) {
      if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
      w.active = false;
      reset_connection(c);
      co_return false;
    }
    if (mode == Fail::kMidstream) {
      if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
      std::string err =
          error_json("Upstream provider error mid-stream", "internal_server_error", "500");
      if (!co_await write_frame(c, w, chunked, err, true)) co_return false;
      co_return keep;
    }

    p = prefix;
    p += chat ? R"({"index":0,"delta":{},"finish_reason":"stop"}]})"
              : R"({"index":0,"text":"","logprobs":null,"finish_reason":"stop"}]})";
    if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
    if (!co_await write_frame(c, w, chunked, p, false)) co_return false;

    if (include_usage) {
      p = prefix;
      p += R"(],"usage":{"prompt_tokens":)";
      append_num(p, kPromptTokens);
      p += R"(,"completion_tokens":)";
      append_num(p, x.chunks);
      p += R"(,"total_tokens":)";
      append_num(p, kPromptTokens + x.chunks);
      p += "}}";
      if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
      if (!co_await write_frame(c, w, chunked, p, false)) co_return false;
    }

    if (int d = gap_ms(); d > 0 && !co_await pause(w, d)) co_return false;
    // Counted before the write so that a client holding [DONE] already sees the count.
    n_completed_streams.fetch_add(1, std::memory_order_relaxed);
    if (!co_await write_frame(c, w, chunked, "[DONE]", true)) {
      n_completed_streams.fetch_sub(1, std::memory_order_relaxed);
      co_return false;
    }
    co_return keep;
  }

  // ---------------------------------------------------------------- non-stream bodies

  std::string completion_body(const Ctx& x, bool chat) {
    std::string text;
    for (int i = 0; i < x.chunks; ++i) text += kWords[static_cast<std::size_t>(i) % kWords.size()];
    std::string b = chat ? R"({"id":"chatcmpl-)" : R"({"id":"cmpl-)";
    append_num(b, next_id.fetch_add(1, std::memory_order_relaxed));
    b += chat ? R"(","object":"chat.completion","created":)"
              : R"(","object":"text_completion","created":)";
    append_num(b, unix_now());
    b += R"(,"model":)";
    b += json_quote(x.model);
    if (chat) {
      b += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":")";
      b += text;
      b += R"("},"finish_reason":"stop"}])";
    } else {
      b += R"(,"choices":[{"index":0,"text":")";
      b += text;
      b += R"(","logprobs":null,"finish_reason":"stop"}])";
    }
    b += R"(,"usage":{"prompt_tokens":)";
    append_num(b, kPromptTokens);
    b += R"(,"completion_tokens":)";
    append_num(b, x.chunks);
    b += R"(,"total_tokens":)";
    append_num(b, kPromptTokens + x.chunks);
    b += "}}";
    return b;
  }

  static std::string embeddings_body(const Ctx& x, const json& input) {
    std::vector<std::string> items;
    if (input.is_string()) {
      items.push_back(input.get<std::string>());
    } else {
      for (const auto& e : input) items.push_back(e.is_string() ? e.get<std::string>() : dump(e));
    }
    ojson data = ojson::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::uint64_t hsh = fnv1a(items[i]);
      ojson vec = ojson::array();
      for (int k = 0; k < 8; ++k) {
        double v = static_cast<double>((hsh >> (8 * k)) & 0xff) / 127.5 - 1.0;
        vec.push_back(std::round(v * 10000.0) / 10000.0);
      }
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(vec)}});
    }
    return dump(ojson{{"object", "list"},
                      {"data", std::move(data)},
                      {"model", x.model},
                      {"usage", {{"prompt_tokens", 9}, {"total_tokens", 9}}}});
  }

  // ---------------------------------------------------------------- request handling

  asio::awaitable<bool> handle_mock(Conn& c, const Ctx& x,
                                    const http::request<http::string_body>& req,
                                    std::string_view path) {
    if (path == "/mock/stats" && req.method() == http::verb::get)
      co_return co_await send_str(c, x, 200, dump(stats_json()));
    if (path == "/mock/fail" && req.method() == http::verb::post) {
      json b = json::parse(req.body(), nullptr, false);
      std::string mode;
      if (!b.is_discarded() && b.is_object() && b.contains("mode") && b["mode"].is_string())
        mode = b["mode"].get<std::string>();
      else if (b.is_discarded() || !b.is_object() || (b.contains("mode") && !b["mode"].is_null()))
        co_return co_await send_str(
            c, x, 400, error_json("expected {\"mode\": \"...\"}", "invalid_request_error", "400"));
      Fail f = parse_fail(mode);
      if (f == Fail::kUnknown)
        co_return co_await send_str(
            c, x, 400, error_json("unknown mode " + mode, "invalid_request_error", "400"));
      fail_mode.store(static_cast<int>(f));
      json reply = {{"mode", fail_name(f)}};  // (GCC 12: no braced lists inside co_await)
      co_return co_await send_str(c, x, 200, dump(reply));
    }
    if (path == "/mock/reset" && req.method() == http::verb::post) {
      n_requests = 0;
      n_llm_requests = 0;
      n_disconnects = 0;
      last_disconnect_ns = 0;
      n_completed_streams = 0;
      n_tls_handshakes = 0;
      n_tls_failures = 0;
      fail_mode = static_cast<int>(Fail::kNone);
      {
        std::lock_guard lk(lr_mu);
        lr.set = false;
      }
      static constexpr std::string_view kReset = R"({"reset":true})";
      co_return co_await send(c, x, 200, kReset);
    }
    co_return co_await send(c, x, 404, body_not_found);
  }

  asio::awaitable<bool> handle(Conn& c, http::request<http::string_body>& req) {
    Ctx x;
    x.keep = req.keep_alive();
    x.http10 = req.version() < 11;
    x.chunks = opts.chunks;
    x.delay_ms = opts.chunk_delay_ms;
    if (auto it = req.find("x-request-id"); it != req.end()) x.request_id = it->value();

    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("/mock/")) co_return co_await handle_mock(c, x, req, path);

    n_requests.fetch_add(1, std::memory_order_relaxed);
    record(req);

    Fail mode = static_cast<Fail>(fail_mode.load(std::memory_order_relaxed));
    if (auto it = req.find("x-mock-fail"); it != req.end()) {
      mode = parse_fail(it->value());
      if (mode == Fail::kUnknown)
        co_return co_await send_str(
            c, x, 400,
            error_json("unknown x-mock-fail mode " + std::string(it->value()),
                       "invalid_request_error", "400"));
    }
    if (auto it = req.find("x-mock-chunks"); it != req.end()) {
      if (auto v = parse_long(it->value()))
        x.chunks = static_cast<int>(std::clamp(*v, 0L, long{kMaxChunks}));
    }
    if (auto it = req.find("x-mock-delay-ms"); it != req.end()) {
      if (auto v = parse_long(it->value())) {
        x.delay_ms = static_cast<int>(std::clamp(*v, 0L, long{kMaxDelayMs}));
        x.delay_given = true;
      }
    }
    x.chunks = std::clamp(x.chunks, 0, kMaxChunks);
    x.delay_ms = std::clamp(x.delay_ms, 0, kMaxDelayMs);

    const Route route = match_route(req.method(), path);
    const bool llm =
        route == Route::kChat || route == Route::kCompletions || route == Route::kEmbeddings;
    if (llm) n_llm_requests.fetch_add(1, std::memory_order_relaxed);
    json body;
    bool body_ok = false;
    bool stream = false;
    bool include_usage = false;
    if (llm) {
      body = json::parse(req.body(), nullptr, false);
      body_ok = !body.is_discarded() && body.is_object();
      if (body_ok) {
        if (auto it = body.find("model"); it != body.end() && it->is_string())
          x.model = it->get_ref<const std::string&>();
        if (route != Route::kEmbeddings) {
          if (auto it = body.find("stream"); it != body.end() && it->is_boolean())
            stream = it->get<bool>();
          if (auto it = body.find("stream_options"); it != body.end() && it->is_object()) {
            auto u = it->find("include_usage");
            include_usage = u != it->end() && u->is_boolean() && u->get<bool>();
          }
        }
      }
    }

    WatchGuard guard;
    switch (mode) {
      case Fail::k429:
        co_return co_await send_str(
            c, x, 429,
            error_json("Rate limit exceeded for model " + x.model, "rate_limit_error", "429"),
            "retry-after: 7\r\n");
      case Fail::kNoDeployments:
        co_return co_await send_str(
            c, x, 429,
            error_json("No deployments available for selected model, Try again in 60 seconds. "
                       "Passed model=" +
                           x.model + ".",
                       "rate_limit_error", "429"),
            "retry-after: 1\r\n");
      case Fail::k500:
        co_return co_await send_str(
            c, x, 500, error_json("Internal server error", "internal_server_error", "500"));
      case Fail::k401:
        co_return co_await send_str(
            c, x, 401,
            error_json("Authentication Error, Invalid proxy server token passed. Unable to find "
                       "token in cache or `LiteLLM_VerificationTokenTable`",
                       "auth_error", "401"));
      case Fail::kReset:
        if (!(stream && body_ok && !x.model.empty())) {
          reset_connection(c);
          co_return false;
        }
        break;
      case Fail::kHang: {
        guard.w = start_watch(c, /*drain=*/true);
        co_await pause(*guard.w, -1);
        co_return false;
      }
      case Fail::kSlowHeaders: {
        guard.w = start_watch(c, /*drain=*/false);
        if (!co_await pause(*guard.w, x.delay_given ? x.delay_ms : kDefaultSlowHeadersMs))
          co_return false;
        break;
      }
      default:
        break;
    }

    switch (route) {
      case Route::kNotFound:
        co_return co_await send(c, x, 404, body_not_found);
      case Route::kMethodNotAllowed:
        co_return co_await send(c, x, 405, body_method_not_allowed);
      case Route::kLiveliness:
        co_return co_await send(c, x, 200, body_liveliness);
      case Route::kReadiness:
        co_return co_await send(c, x, 200, body_readiness);
      case Route::kHealth:
        co_return co_await send(c, x, 200, body_health);
      case Route::kModels:
        co_return co_await send(c, x, 200, body_models);
      case Route::kModelInfo:
        if (!opts.serve_model_info) co_return co_await send(c, x, 404, body_not_found);
        co_return co_await send(c, x, 200, body_model_info);
      case Route::kNoDb:
        co_return co_await send(c, x, 500, body_no_db);
      default:
        break;
    }

    // LLM routes.
    if (!body_ok)
      co_return co_await send_str(c, x, 400,
                                  error_json("Invalid request body: expected a JSON object",
                                             "invalid_request_error", "400"));
    if (x.model.empty())
      co_return co_await send_str(
          c, x, 400,
          error_json("Missing required parameter: 'model'", "invalid_request_error", "400"));

    if (route == Route::kEmbeddings) {
      auto it = body.find("input");
      bool ok = it != body.end() && (it->is_string() || (it->is_array() && !it->empty()));
      if (!ok)
        co_return co_await send_str(
            c, x, 400,
            error_json("Missing required parameter: 'input'", "invalid_request_error", "400"));
      co_return co_await send_str(c, x, 200, embeddings_body(x, *it),
                                  "x-litellm-model-id: mock\r\n");
    }

    const bool chat = route == Route::kChat;
    if (stream) {
      if (!guard.w) guard.w = start_watch(c, /*drain=*/false);
      co_return co_await stream_response(c, x, *guard.w, chat, include_usage, mode);
    }
    co_return co_await send_str(c, x, 200, completion_body(x, chat),
                                "x-litellm-model-id: mock\r\n");
  }

  asio::awaitable<void> session(tcp::socket sock) {
    Conn c(std::move(sock), tls_ctx.get());
    auto* tls = c.stream.tls();
    if (tls) {
      c.stream.expires_after(kHandshakeTimeout);
      auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
      if (ec) {
        n_tls_failures.fetch_add(1, std::memory_order_relaxed);
        c.stream.close();
        co_return;
      }
      const char* sni = SSL_get_servername(tls->native_handle(), TLSEXT_NAMETYPE_host_name);
      {
        std::lock_guard lk(sni_mu);
        last_sni = sni ? sni : "";
      }
      n_tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    }
    try {
      for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(kBodyLimit);
        parser.header_limit(kHeaderLimit);
        c.stream.expires_after(kIdleTimeout);
        auto [ec, n] = co_await http::async_read_header(c.stream, c.buf, parser, tuple_awaitable);
        (void)n;
        if (!ec && !parser.is_done()) {
          auto& r = parser.get();
          if (auto it = r.find(http::field::expect);
              it != r.end() && beast::iequals(it->value(), "100-continue")) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            if (!co_await write(c, nullptr, asio::buffer(kContinue.data(), kContinue.size())))
              break;
          }
          c.stream.expires_after(kIdleTimeout);
          std::tie(ec, n) = co_await http::async_read(c.stream, c.buf, parser, tuple_awaitable);
        }
        if (ec) {
          if (ec.category() != http::make_error_code(http::error::end_of_stream).category() ||
              ec == http::error::end_of_stream || ec == http::error::partial_message)
            break;  // network error, timeout or peer gone
          unsigned status = ec == http::error::body_limit     ? 413
                            : ec == http::error::header_limit ? 431
                                                              : 400;
          Ctx x;
          x.keep = false;
          co_await send_str(
              c, x, status,
              error_json(ec.message(), "invalid_request_error", std::to_string(status)));
          break;
        }
        if (!co_await handle(c, parser.get())) break;
      }
    } catch (...) {
      // Drop the connection.
    }
    if (!c.stream.socket().is_open()) co_return;  // reset, or the peer hung up
    if (tls) {
      // close_notify, so that a body delimited by the end of the connection ends cleanly; waits
      // (briefly) for the peer's, or for it to close.
      c.stream.expires_after(kShutdownTimeout);
      co_await tls->async_shutdown(tuple_awaitable);
    }
    beast::error_code ec;
    if (c.stream.socket().is_open()) {
      c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      c.stream.close();
    }
  }

  asio::awaitable<void> accept_loop() {
    std::size_t next = 0;
    asio::steady_timer backoff(*iocs[0]);
    for (;;) {
      auto& ioc = *iocs[next++ % iocs.size()];
      auto [ec, sock] = co_await acceptor->async_accept(ioc, tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        backoff.expires_after(20ms);  // EMFILE and friends
        co_await backoff.async_wait(tuple_awaitable);
        continue;
      }
      beast::error_code ig;
      sock.set_option(tcp::no_delay(true), ig);
      auto ex = sock.get_executor();
      asio::co_spawn(ex, session(std::move(sock)), asio::detached);
    }
  }
};

// ------------------------------------------------------------------ public API

MockLiteLLM::MockLiteLLM(MockOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
MockLiteLLM::~MockLiteLLM() = default;  // Impl's destructor stops

unsigned short MockLiteLLM::start() { return impl_->start(); }
void MockLiteLLM::stop() { impl_->stop(); }

unsigned short MockLiteLLM::port() const {
  std::lock_guard lk(impl_->life_mu);
  return impl_->bound_port;
}

std::uint64_t MockLiteLLM::requests() const { return impl_->n_requests.load(); }
std::uint64_t MockLiteLLM::llm_requests() const { return impl_->n_llm_requests.load(); }
std::uint64_t MockLiteLLM::disconnects() const { return impl_->n_disconnects.load(); }
std::chrono::steady_clock::time_point MockLiteLLM::last_disconnect() const {
  return std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(impl_->last_disconnect_ns.load()));
}
std::uint64_t MockLiteLLM::completed_streams() const { return impl_->n_completed_streams.load(); }
std::uint64_t MockLiteLLM::tls_handshakes() const { return impl_->n_tls_handshakes.load(); }
std::uint64_t MockLiteLLM::tls_handshake_failures() const { return impl_->n_tls_failures.load(); }
std::string MockLiteLLM::tls_server_name() const {
  std::lock_guard lk(impl_->sni_mu);
  return impl_->last_sni;
}
nlohmann::json MockLiteLLM::last_request() const { return impl_->last_request_json(); }

void MockLiteLLM::set_fail_mode(const std::string& mode) {
  Fail f = parse_fail(mode);
  if (f == Fail::kUnknown) throw std::invalid_argument("mock-litellm: unknown fail mode " + mode);
  impl_->fail_mode.store(static_cast<int>(f));
}

}  // namespace olla::mock
