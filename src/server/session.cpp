#include "session.hpp"

// GCC 12 reports asio's recycled coroutine-frame deallocation (aligned_delete) as mismatched once
// it inlines the frames here: a false positive about Asio's own allocator pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "../proxy/head_parser.hpp"
#include "../proxy/upstream_request.hpp"
#include "olla/observe/access_log.hpp"
#include "olla/observe/error.hpp"
#include "olla/observe/prometheus_text.hpp"
#include "olla/observe/request_id.hpp"
#include "olla/observe/status.hpp"
#include "olla/observe/usage_scanner.hpp"
#include "olla/pool/provider.hpp"
#include "olla/proxy/head_writer.hpp"
#include "olla/proxy/header_rules.hpp"
#include "olla/proxy/request_inspect.hpp"
#include "olla/router/route.hpp"

namespace olla::server {

using namespace net;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kPiece = 16 * 1024;        // relay buffer per connection
constexpr std::size_t kMaxErrorBody = 1u << 20;  // upstream error bodies read whole to enrich
constexpr std::string_view kSse = "text/event-stream";

using request_parser_t = proxy::RequestParser;
using response_parser_t = proxy::ResponseParser;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// `ec == e`, inline: the value, then the category (the enum's, looked up once). The relay makes
// several of these tests for every piece of a body (a stream's every frame), and Boost's
// operator== is a call that makes an error_code of the enum first.
template <typename Enum>
bool is(const error_code& ec, Enum e) {
  static const boost::system::error_category& category = error_code(e).category();
  return ec.value() == static_cast<int>(e) && ec.category() == category;
}

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// Parses what `buf` holds into `p`: http::error::need_more when the parser wants more bytes
// than that. No I/O: what a kept-alive connection's read brought is often the whole message.
template <typename Parser>
error_code parse_buffered(beast::flat_buffer& buf, Parser& p) {
  if (buf.size() == 0) return http::error::need_more;
  error_code ec;
  buf.consume(p.put(buf.data(), ec));
  return ec;
}

// Reads from `s` and parses until the parser makes progress (with `header`: until its header is
// done), all within `timeout` (a header trickled a byte at a time gets no more):
// http::async_read_some / async_read_header without their layers of composed operations and the
// post they make when the bytes were already there (callers try parse_buffered first). A peer that
// closes mid-message ends a close-delimited body. As steps that a coroutine awaits in turn:
//   ReadParse r(s, buf, p, timeout, header);
//   for (;;) { auto [ec, n] = co_await r.read(); if (auto done = r.after(ec, n)) ...; }
// so that the relay's loop runs them itself, with no coroutine of their own for each frame of a
// stream; read_and_parse() is that loop for everyone else.
template <typename Stream, typename Parser>
class ReadParse {
 public:
  ReadParse(Stream& s, beast::flat_buffer& buf, Parser& p, config::Duration timeout, bool header)
      : s_(s), buf_(buf), p_(p), header_(header), room_(p.body_room()) {
    s.expires_after(timeout);
  }
  // The next read (into at least 512 bytes while the buffer may grow; a buffer at its largest
  // reads nothing, which after() reports as buffer_overflow).
  auto read() {
    return s_.async_read_some(DrainingBuffer(buf_.prepare(beast::read_size(buf_, 65536)), s_),
                              use_tuple);
  }
  // After a read gave `n` bytes and `ec`: the outcome, or nullopt to read again.
  std::optional<error_code> after(error_code ec, std::size_t n) {
    buf_.commit(n);
    if (is(ec, asio::error::eof)) {
      if (!p_.got_some()) return error_code(http::error::end_of_stream);
      error_code eof_ec;
      p_.put_eof(eof_ec);
      return eof_ec;
    }
    if (is(ec, asio::error::operation_aborted) && s_.timed_out()) ec = beast::error::timeout;
    if (ec) return ec;
    if (n == 0) return error_code(http::error::buffer_overflow);  // an empty read: a full buffer
    ec = parse_buffered(buf_, p_);
    // A body's parse goes on past a chunk (HeadParser parses eagerly) and may stop for want of
    // the next chunk's size line: the bytes it gave are a piece all the same.
    if (is(ec, http::error::need_more)) {
      if (header_ || p_.body_room() == room_) return std::nullopt;
      return error_code{};
    }
    if (ec || !header_ || p_.is_header_done()) return ec;
    return std::nullopt;
  }

 private:
  Stream& s_;
  beast::flat_buffer& buf_;
  Parser& p_;
  const bool header_;
  const std::size_t room_;  // the body buffer's room before the first read
};

template <typename Stream, typename Parser>
task<error_code> read_and_parse(Stream& s, beast::flat_buffer& buf, Parser& p,
                                config::Duration timeout, bool header) {
  ReadParse<Stream, Parser> r(s, buf, p, timeout, header);
  for (;;) {
    auto [ec, n] = co_await r.read();
    if (auto done = r.after(ec, n)) co_return *done;
  }
}

using Piece = std::pair<error_code, std::size_t>;  // what a body read gave: status, bytes

// The next piece of a body into dst from what `buf` holds, or nullopt when that needs more bytes
// (read_and_parse reads them, piece_read tells what they gave). A piece may be empty while the body
// is not done (a chunk header alone); nothing is written for those (add_piece: a zero-size chunk
// ends a body).
template <typename Parser>
std::optional<Piece> piece_now(beast::flat_buffer& buf, Parser& p, char* dst, std::size_t cap) {
  p.body_buffer(dst, cap);
  auto ec = parse_buffered(buf, p);
  const std::size_t n = cap - p.body_room();
  // need_more after bytes: the parse went on past a chunk and stopped before the next one's size.
  const bool more = is(ec, http::error::need_more);
  if (more && n == 0) return std::nullopt;
  if (more || is(ec, http::error::need_buffer)) ec = {};
  return Piece{ec, n};
}

// After piece_now gave nullopt, `co_await read_and_parse(..., false)` reads until the piece
// (perhaps begun in dst already) has bytes, and this says what they are. Not a coroutine of its
// own around that read: a frame of a stream would cost one more coroutine frame and resumption.
template <typename Parser>
Piece piece_read(error_code ec, const Parser& p, std::size_t cap) {
  if (is(ec, http::error::need_buffer)) ec = {};
  return Piece{ec, cap - p.body_room()};
}

// A connection's relay buffer: allocated on first use and never zero-filled, so an idle stream
// costs no resident memory for it.
class RelayBuffer {
 public:
  char* data() {
    if (!data_) data_.reset(new char[kPiece]);
    return data_.get();
  }
  static constexpr std::size_t size() { return kPiece; }

 private:
  std::unique_ptr<char[]> data_;
};

struct HangupWatch;

// What a client connection keeps between its requests, so that a proxied request allocates none
// of it: the relay buffer, the head being written (the upstream request's, then the response's),
// the client request's parsed head, the upstream's response bytes and its parsed head (both
// cleared for each attempt), the request id, the buffered request body and the hang-up watch.
struct ConnBuffers {
  RelayBuffer piece;
  std::string head;
  beast::flat_buffer upstream_in;
  proxy::RequestParser::Storage request_head;
  proxy::ResponseParser::Storage response_head;
  std::string request_id;
  std::string body;
  std::shared_ptr<HangupWatch> watch;
};

// A body buffer kept for the connection's next request when it is no larger than this (a large
// one is memory an idle keep-alive connection should not hold: as much as its read buffer).
constexpr std::size_t kKeptBodyCapacity = 4096;

// Up to six buffers written with one writev: a head, a chunk's size line, its data, its CRLF and
// the last chunk. Empty ones are left out.
class Gather {
 public:
  void add(std::string_view s) {
    if (!s.empty()) b_[n_++] = asio::const_buffer(s.data(), s.size());
  }
  bool empty() const { return first_ == n_; }
  const asio::const_buffer* begin() const { return b_.data() + first_; }
  const asio::const_buffer* end() const { return b_.data() + n_; }

  // Sends what the socket takes now, without waiting: asio::error::would_block, and the rest
  // left in here, when its send buffer is full. On a kept-alive connection the whole of a head
  // and body usually goes at once, with no operation queued and no handler run.
  error_code send_now(int fd, std::size_t& sent) {
    while (!empty()) {
      std::array<iovec, 6> iov;
      for (std::size_t i = first_; i < n_; ++i) {
        iov[i - first_] = {const_cast<void*>(b_[i].data()), b_[i].size()};
      }
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = n_ - first_;
      const auto r = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return asio::error::would_block;
        return error_code(errno, asio::error::get_system_category());
      }
      sent += static_cast<std::size_t>(r);
      consume(static_cast<std::size_t>(r));
    }
    return {};
  }

 private:
  void consume(std::size_t n) {
    while (first_ < n_ && n >= b_[first_].size()) n -= b_[first_++].size();
    if (first_ < n_) b_[first_] += n;
  }

  std::array<asio::const_buffer, 6> b_{};
  std::size_t first_ = 0;
  std::size_t n_ = 0;
};

// Writes all of `g` to `s`: at once when the socket takes it, else the rest within `timeout`.
// (TLS streams always go the asynchronous way.)
template <typename Stream>
task<error_code> write_rest(Stream& s, Gather& g, config::Duration timeout, std::size_t& sent) {
  s.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(s, g, use_tuple);
  sent += n;
  if (ec == asio::error::operation_aborted && s.timed_out()) ec = beast::error::timeout;
  co_return ec;
}

// Adds a piece of a body to `g`, framed as a chunk when `chunked` (an empty piece adds nothing:
// a zero-size chunk would end the body), then the last chunk when `last`.
void add_piece(Gather& g, char (&line)[24], std::string_view data, bool chunked, bool last) {
  if (chunked && !data.empty()) {
    g.add(proxy::chunk_size_line(line, data.size()));
    g.add(data);
    g.add(proxy::kCrlf);
  } else {
    g.add(data);
  }
  if (chunked && last) g.add(proxy::kLastChunk);
}

// Watches the client socket while a response is produced, so a hang-up closes the upstream at
// once (LiteLLM stops generating) instead of at the next write. Started a tick into the wait for
// the upstream (watch_soon), at once for a stream (its client may stay for minutes).
struct HangupWatch : WatchSoon, std::enable_shared_from_this<HangupWatch> {
  explicit HangupWatch(socket_t& c) : client(c) {}
  void start_watch() override;

  socket_t& client;
  proxy::UpstreamStream* upstream = nullptr;
  bool pending = false;
  bool hung_up = false;
  char byte = 0;
};

// A one-byte MSG_PEEK receive, not async_wait(wait_read), which re-arms the descriptor with an
// epoll_ctl each time. Bytes are only peeked: a pipelined next request stays in the socket for
// the session to read.
void HangupWatch::start_watch() {
  unlink();
  if (pending) return;
  pending = true;
  client.async_receive(asio::buffer(&byte, 1), tcp::socket::message_peek,
                       [w = shared_from_this()](error_code ec, std::size_t) {
                         w->pending = false;
                         if (ec == asio::error::operation_aborted || !w->upstream) return;
                         if (ec) {  // end of stream or reset: the client hung up
                           w->hung_up = true;
                           w->upstream->close();
                         }
                         // else: the client pipelined its next request; nothing to watch for
                         // until it is read.
                       });
}

constexpr auto kWatchTick = std::chrono::milliseconds(20);

void run_watch_ticker(Worker& worker) {
  worker.ticker_running = true;
  worker.watch_ticker.expires_after(kWatchTick);
  worker.watch_ticker.async_wait([&worker](error_code ec) {
    worker.ticker_running = false;
    if (ec) return;
    // Those queued before the previous tick have waited a whole tick at least.
    const auto started_before = worker.watch_tick++;
    while (!worker.watch_soon.empty() && worker.watch_soon.front().tick < started_before) {
      worker.watch_soon.front().start_watch();  // unlinks it
    }
    if (!worker.watch_soon.empty()) run_watch_ticker(worker);
  });
}

// Queues the watch of `w`'s client for the next ticks.
void watch_soon(Worker& worker, HangupWatch& w) {
  if (w.pending || w.is_linked()) return;
  w.tick = worker.watch_tick;
  worker.watch_soon.push_back(w);
  if (!worker.ticker_running) run_watch_ticker(worker);
}

void stop_watch(HangupWatch& w) {
  w.upstream = nullptr;
  w.unlink();
  if (w.pending) {
    error_code ignored;
    w.client.cancel(ignored);
  }
}

class Exchange {
 public:
  Exchange(TimedSocket& client, beast::flat_buffer& client_buf, request_parser_t& parser,
           ConnBuffers& bufs, Worker& worker, Shared& shared, const std::string& peer)
      : client_(client),
        cbuf_(client_buf),
        parser_(parser),
        bufs_(bufs),
        worker_(worker),
        sh_(shared),
        cfg_(shared.cfg),
        peer_(peer),
        start_(Clock::now()),
        rid_(bufs.request_id),
        body_(bufs.body) {
    if (body_.capacity() > kKeptBodyCapacity) {
      std::string().swap(body_);
    } else {
      body_.clear();
    }
    // The first X-Request-ID (a name Beast has no code for).
    std::string_view client_id;
    for (const auto& f : parser_.fields()) {
      if (f.name == http::field::unknown && proxy::iequals(f.name_string, "X-Request-ID")) {
        client_id = f.value;
        break;
      }
    }
    if (!client_id.empty() && observe::is_valid_request_id(client_id)) {
      rid_.assign(client_id);
    } else {
      observe::new_request_id(rid_);
    }
    client_keep_alive_ = parser_.keep_alive() && !worker_.stopping;
  }

  // Serves the request; returns whether the client connection stays open. The caller logs it
  // (log()) when that is done. Not a coroutine: a proxied request goes straight to proxy(), one
  // coroutine frame fewer per request (and a large one, which Asio's frame cache does not keep).
  task<bool> run() {
    const auto& req = parser_;
    route_ = router::route(req.method_string(), req.target());
    bool preflight = false;
    if (sh_.cors.enabled()) {
      const auto origin = req.value_of(http::field::origin);
      preflight = proxy::Cors::is_preflight(
          req.method_string(), origin, req.value_of(http::field::access_control_request_method));
      extra_headers_ = preflight
                           ? sh_.cors.preflight_headers(
                                 origin, req.value_of(http::field::access_control_request_headers))
                           : sh_.cors.response_headers(origin);
    }
    if (route_.kind == router::RouteKind::proxy && !preflight && !sh_.rate_limiter.enabled()) {
      return proxy();
    }
    return serve(preflight);
  }

  // The access log line and the metrics of the request, once it is served.
  void log() const {
    const auto& req = parser_;
    observe::AccessRecord r;
    r.method = req.method_string();
    r.path = req.target();
    r.status = status_;
    r.endpoint = endpoint_ ? std::string_view(endpoint_->cfg.name) : std::string_view();
    r.model = model_;
    r.bytes_in = bytes_in_;
    r.bytes_out = bytes_out_;
    r.duration_ms = ms_since(start_);
    r.ttfb_ms = first_byte_at_ == Clock::time_point{}
                    ? 0
                    : std::chrono::duration<double, std::milli>(first_byte_at_ - start_).count();
    r.retries = retries_;
    r.request_id = rid_;
    r.client = peer_;
    observe::log_access(r);

    observe::RequestSample m;
    m.endpoint = r.endpoint;
    m.model = model_;
    m.status = status_;
    m.duration_s = r.duration_ms / 1000;
    m.ttfb_s = r.ttfb_ms / 1000;
    m.upstream_wait_s = std::chrono::duration<double>(upstream_wait_).count();
    m.usage = usage_.result();
    sh_.metrics.record_request(m);
  }

 private:
  // run() for everything but a plain proxied request: CORS preflights, rate limits, the
  // gateway's own routes.
  task<bool> serve(bool preflight) {
    const auto& req = parser_;
    if (preflight) co_return co_await answer(http::status::no_content, "");
    if (sh_.rate_limiter.enabled()) {
      if (auto refused = co_await over_rate_limits()) co_return *refused;
    }
    if (router::is_internal(route_.kind)) {
      // The socket's peer decides, never X-Forwarded-For.
      const auto decision =
          sh_.internal_access.check(peer_, req.value_of(http::field::authorization));
      if (decision == observe::AccessPolicy::Decision::forbidden) {
        co_return co_await answer_error(http::status::forbidden, "permission_error",
                                        "/internal/* is not open to " + peer_);
      }
      if (decision == observe::AccessPolicy::Decision::unauthorized) {
        extra_headers_.emplace_back("WWW-Authenticate", "Bearer");
        co_return co_await answer_error(http::status::unauthorized, "authentication_error",
                                        "/internal/* needs the configured bearer token");
      }
    }
    bool keep = false;
    switch (route_.kind) {
      case router::RouteKind::proxy:
        keep = co_await proxy();
        break;
      case router::RouteKind::bad_path:
        keep = co_await answer_error(http::status::bad_request, "invalid_request_error",
                                     "invalid request path");
        break;
      case router::RouteKind::models:
        keep = co_await answer(http::status::ok, models_json());
        break;
      case router::RouteKind::provider_health: {
        auto [status, body] = provider_health_json();
        keep = co_await answer(status, std::move(body));
        break;
      }
      case router::RouteKind::internal_health:
        keep = co_await answer(http::status::ok, R"({"status":"ok"})");
        break;
      case router::RouteKind::internal_status:
        keep = co_await answer(
            http::status::ok,
            dump(observe::status_summary(
                sh_.pool, sh_.metrics,
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - sh_.started),
                sh_.in_flight.load())));
        break;
      case router::RouteKind::internal_status_endpoints:
        keep = co_await answer(http::status::ok,
                               dump(observe::status_endpoints(sh_.pool, sh_.metrics)));
        break;
      case router::RouteKind::internal_status_models:
        keep = co_await answer(http::status::ok, dump(observe::status_models(sh_.pool)));
        break;
      case router::RouteKind::internal_metrics:
        keep = co_await answer(http::status::ok, sh_.metrics.prometheus(sh_.pool),
                               observe::PrometheusText::kContentType);
        break;
      case router::RouteKind::version:
        keep = co_await answer(http::status::ok, version_json());
        break;
      case router::RouteKind::not_found:
        keep = co_await answer_error(http::status::not_found, "not_found_error",
                                     "no route for " + std::string(req.target()));
        break;
    }
    co_return keep;
  }

  // Global and per-client token buckets (server.rate_limits). When over, answers 429 and returns
  // whether the connection stays open; nullopt when the request may go on.
  task<std::optional<bool>> over_rate_limits() {
    std::string forwarded;
    for (const auto& f : parser_.fields()) {
      if (f.name != http::field::unknown || !proxy::iequals(f.name_string, "X-Forwarded-For")) {
        continue;
      }
      if (!forwarded.empty()) forwarded += ',';
      forwarded += f.value;
    }
    const auto client = sh_.rate_limiter.client_ip(peer_, forwarded);
    const bool health = route_.kind == router::RouteKind::internal_health ||
                        route_.kind == router::RouteKind::provider_health;
    const auto d = sh_.rate_limiter.check(client, health, Clock::now());
    if (d.limit > 0) {
      extra_headers_.emplace_back("X-RateLimit-Limit", std::to_string(d.limit));
      extra_headers_.emplace_back("X-RateLimit-Remaining", std::to_string(d.remaining));
      extra_headers_.emplace_back("X-RateLimit-Reset", std::to_string(d.reset.count()));
    }
    if (d.allowed) co_return std::nullopt;
    extra_headers_.emplace_back("Retry-After", std::to_string(d.retry_after.count()));
    co_return co_await answer_error(http::status::too_many_requests, "rate_limit_error",
                                    "rate limit exceeded for " + client + "; retry in " +
                                        std::to_string(d.retry_after.count()) + "s");
  }

  // ---- the gateway's own answers ----

  task<bool> answer(http::status status, std::string body,
                    std::string_view content_type = "application/json") {
    // A body the client sent to a gateway route is read and dropped, bounded.
    if (client_keep_alive_ && !parser_.is_done() && !co_await drain_request()) {
      client_keep_alive_ = false;
    }
    status_ = static_cast<int>(status);
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "olla");
    res.set(http::field::content_type, content_type);
    res.set("X-Olla-Request-ID", rid_);
    for (const auto& [name, value] : extra_headers_) res.set(name, value);
    res.keep_alive(client_keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    client_.expires_after(cfg_.proxy.read_timeout);
    http::response_serializer<http::string_body> sr(res);
    // HEAD: the same header (Content-Length included), no body.
    auto [ec, n] = parser_.method() == http::verb::head
                       ? co_await http::async_write_header(client_, sr, use_tuple)
                       : co_await http::async_write(client_, sr, use_tuple);
    bytes_out_ += n;
    co_return !ec && client_keep_alive_;
  }

  task<bool> answer_error(http::status status, std::string_view type, std::string_view message) {
    co_return co_await answer(status, observe::error_body(static_cast<int>(status), type, message));
  }

  // The next piece of the client's body from what is buffered, or nullopt when that needs a read
  // (read_client_rest). Beast checks body_limit per chunk, not in total, so the total of a chunked
  // body is checked here.
  std::optional<Piece> client_piece_now(char* dst, std::size_t cap) {
    auto r = piece_now(cbuf_, parser_, dst, cap);
    if (r) count_client_piece(*r);
    return r;
  }

  task<Piece> read_client_rest(std::size_t cap) {
    const auto rec =
        co_await read_and_parse(client_, cbuf_, parser_, cfg_.server.header_timeout, false);
    auto r = piece_read(rec, parser_, cap);
    count_client_piece(r);
    co_return r;
  }

  task<Piece> read_client_piece(char* dst, std::size_t cap) {
    if (auto r = client_piece_now(dst, cap)) co_return *r;
    co_return co_await read_client_rest(cap);
  }

  void count_client_piece(Piece& r) {
    bytes_in_ += r.second;
    if (!r.first && bytes_in_ > cfg_.server.max_body_size) r.first = http::error::body_limit;
  }

  task<bool> drain_request() {
    while (!parser_.is_done()) {
      auto [ec, n] = co_await read_client_piece(bufs_.piece.data(), bufs_.piece.size());
      if (ec || bytes_in_ > cfg_.proxy.max_inspect_bytes) co_return false;
    }
    co_return true;
  }

  std::string models_json() const {
    const auto models = sh_.pool.models().union_models(sh_.pool.routable_mask());
    nlohmann::ordered_json data = nlohmann::ordered_json::array();
    for (const auto& m : models) {
      data.push_back(
          {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", m.provider}});
    }
    return dump(nlohmann::ordered_json{{"object", "list"}, {"data", std::move(data)}});
  }

  std::pair<http::status, std::string> provider_health_json() const {
    const auto mask = sh_.pool.routable_mask();
    const auto healthy = static_cast<std::size_t>(std::count(mask.begin(), mask.end(), true));
    std::size_t total = 0;  // configured now: retired endpoints no longer count
    for (std::size_t i = 0; i < sh_.pool.size(); ++i) total += !sh_.pool.at(i).retired.load();
    const auto models = sh_.pool.models().union_models(mask);
    std::set<std::string> providers;
    for (const auto& m : models) {
      if (!m.provider.empty()) providers.insert(m.provider);
    }
    const char* status = healthy == 0 ? "unhealthy" : healthy < total ? "degraded" : "healthy";
    nlohmann::ordered_json j = {{"status", status},
                                {"models", models.size()},
                                {"providers", providers},
                                {"endpoints", {{"healthy", healthy}, {"total", total}}}};
    return {healthy == 0 ? http::status::service_unavailable : http::status::ok, dump(j)};
  }

  static std::string version_json() {
    return nlohmann::ordered_json{
        {"name", "olla"},
        {"version", OLLA_VERSION},
        {"build", {{"compiler", __VERSION__}, {"boost", BOOST_LIB_VERSION}}}}
        .dump();
  }

  // ---- the proxy path ----

  enum class Outcome { done, retry, client_gone };

  task<bool> proxy() {
    sh_.in_flight.fetch_add(1, std::memory_order_relaxed);
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { n.fetch_sub(1, std::memory_order_relaxed); }
    } leave{sh_.in_flight};

    // curl and others wait for "100 Continue" before a large body; Expect is not forwarded.
    if (proxy::iequals(parser_.value_of(http::field::expect), "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      client_.expires_after(cfg_.server.header_timeout);
      auto [ec, n] = co_await http::async_write(client_, cont, use_tuple);
      if (ec) co_return false;
    }

    // Buffer the body up to max_inspect_bytes: enough to read "model" and replay on retry.
    const auto limit = cfg_.proxy.max_inspect_bytes;
    if (auto cl = parser_.content_length(); cl && *cl <= limit) body_.reserve(*cl);
    while (!parser_.is_done() && body_.size() < limit) {
      // Read into the relay buffer and appended: a string resized to read into is zero-filled.
      const auto want = std::min<std::size_t>(bufs_.piece.size(), limit - body_.size());
      auto r = client_piece_now(bufs_.piece.data(), want);
      if (!r) r = co_await read_client_rest(want);
      auto [ec, n] = *r;
      body_.append(bufs_.piece.data(), n);
      if (ec == http::error::body_limit) {
        client_keep_alive_ = false;
        co_return co_await answer_error(http::status::payload_too_large, "request_too_large",
                                        "request body exceeds server.request_limits.max_body_size");
      }
      if (ec) {
        if (is_http_parse_error(ec)) {
          client_keep_alive_ = false;
          co_await answer_error(http::status::bad_request, "invalid_request_error",
                                "malformed request body: " + ec.message());
        }
        co_return false;
      }
    }
    body_complete_ = parser_.is_done();
    if (body_complete_) {
      model_ = proxy::extract_model(body_);
      // (A streamed body sets it up in send_request().)
      watch_ = fresh_watch();
    }

    for (;;) {
      auto sel = sh_.pool.select(model_, tried_);
      if (!sel.ok()) {
        if (tried_.empty()) {
          co_return co_await answer_error(static_cast<http::status>(sel.status), sel.error_type,
                                          sel.message);
        }
        break;
      }
      endpoint_index_ = static_cast<std::size_t>(sel.index);
      tried_.push_back(endpoint_index_);
      endpoint_ = &sh_.pool.at(endpoint_index_);
      endpoint_->in_flight.fetch_add(1, std::memory_order_relaxed);
      endpoint_->requests.fetch_add(1, std::memory_order_relaxed);
      const Outcome outcome = co_await attempt();
      endpoint_->in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (watch_) stop_watch(*watch_);
      if (outcome == Outcome::client_gone) {
        if (client_error_ == http::error::body_limit) {
          client_keep_alive_ = false;
          co_return co_await answer_error(
              http::status::payload_too_large, "request_too_large",
              "request body exceeds server.request_limits.max_body_size");
        }
        status_ = 499;
        endpoint_->breaker.on_abandoned();  // a client's hang-up never decides a trial
        sh_.metrics.record_client_cancel(endpoint_->cfg.name);
        co_return false;
      }
      if (outcome == Outcome::done) co_return keep_after_response_;
      endpoint_->failures.fetch_add(1, std::memory_order_relaxed);
      if (!can_replay() || !more_attempts_allowed()) break;
      ++retries_;
      sh_.metrics.record_retry(endpoint_->cfg.name);
    }
    if (timed_out_) {
      co_return co_await answer_error(http::status::gateway_timeout, "upstream_timeout",
                                      last_error_);
    }
    // (Not a conditional inside the co_await: GCC 12 destroys such a temporary twice.)
    if (last_error_.empty()) last_error_ = "no endpoint could serve the request";
    co_return co_await answer_error(http::status::bad_gateway, "upstream_error", last_error_);
  }

  bool can_replay() const { return body_complete_ && !response_started_; }

  // One endpoint: a pooled connection (a stale one is replaced by a fresh one, once), the request,
  // the response headers, then the relay.
  task<Outcome> attempt() {
    auto& ep = *endpoint_;
    ep.breaker.on_attempt();
    timed_out_ = false;  // the final answer reflects the last attempt
    for (int conn_try = 0; conn_try < 2; ++conn_try) {
      // The previous try's connection is gone: the watcher must not close it (it re-arms below).
      if (watch_) watch_->upstream = nullptr;
      std::optional<proxy::UpstreamStream> pooled =
          conn_try == 0 ? worker_.upstreams.take(endpoint_index_, !can_replay()) : std::nullopt;
      const bool reused = pooled.has_value();
      proxy::UpstreamStream upstream =
          reused ? std::move(*pooled) : proxy::UpstreamStream(client_.get_executor());
      if (!reused) {
        if (auto ec = co_await proxy::connect_upstream(
                upstream, ep.cfg, cfg_.proxy.connection_timeout, sh_.tls.get(endpoint_index_))) {
          last_error_ = "cannot connect to endpoint " + ep.cfg.name + ": " + ec.message();
          // Passive health: a refused connection takes the endpoint out until the next probe.
          ep.status.store(pool::EndpointStatus::offline);
          sh_.health.request_probe(endpoint_index_);
          spdlog::warn("endpoint {} marked offline: {}", ep.cfg.name, ec.message());
          transport_failure();
          co_return Outcome::retry;
        }
      }
      if (watch_) {
        watch_->upstream = &upstream;
        watch_soon(worker_, *watch_);
      }
      error_code sent;
      if (!send_request_now(upstream, sent)) sent = co_await send_rest_of_request(upstream);
      if (client_error_) {
        upstream.close();  // it holds half a request
        co_return Outcome::client_gone;
      }
      if (watch_ && watch_->hung_up) co_return Outcome::client_gone;
      if (sent) {
        if (reused && can_replay() && conn_try == 0) continue;  // stale pooled connection
        last_error_ =
            "endpoint " + ep.cfg.name + " failed while sending the request: " + sent.message();
        transport_failure();
        co_return Outcome::retry;
      }
      auto& ubuf = bufs_.upstream_in;
      ubuf.clear();
      response_parser_t rp(bufs_.response_head);
      rp.body_limit(boost::none);
      rp.header_limit(64 * 1024);
      if (parser_.method() == http::verb::head) rp.skip(true);
      const auto waiting_since = Clock::now();
      const auto hec =
          co_await read_and_parse(upstream, ubuf, rp, cfg_.proxy.response_timeout, true);
      headers_at_ = Clock::now();
      upstream_wait_ += headers_at_ - waiting_since;
      if (watch_ && watch_->hung_up) co_return Outcome::client_gone;
      if (hec) {
        if (reused && conn_try == 0 && can_replay() && hec != beast::error::timeout) continue;
        if (hec == beast::error::timeout) {
          timed_out_ = true;
          last_error_ = "endpoint " + ep.cfg.name + " sent no response headers within " +
                        config::format_duration(cfg_.proxy.response_timeout);
        } else {
          last_error_ = "endpoint " + ep.cfg.name + " failed before responding: " + hec.message();
        }
        transport_failure();
        co_return Outcome::retry;
      }
      co_return co_await respond(upstream, rp);
    }
    co_return Outcome::retry;
  }

  // Starts the upstream request: its head and the buffered body, framed, into req_out_, and sent
  // at once as far as the socket takes them (not over TLS). Returns whether that was all of the
  // request; if not (or on an error, in `ec`), send_rest_of_request() goes on.
  bool send_request_now(proxy::UpstreamStream& upstream, error_code& ec) {
    const auto framing = proxy::request_framing(body_complete_, body_.size(), parser_.chunked(),
                                                parser_.content_length());
    proxy::write_upstream_request(bufs_.head, parser_, endpoint_->cfg, route_.upstream_target,
                                  framing, rid_, peer_);
    chunked_in_ = framing.kind == proxy::BodyFraming::Kind::chunked;
    req_out_ = Gather();
    req_out_.add(bufs_.head);
    add_piece(req_out_, req_line_, body_, chunked_in_, parser_.is_done());
    ec = send_upstream_now(upstream, req_out_);
    if (ec == asio::error::would_block) {
      ec = {};
      return false;
    }
    return ec || parser_.is_done();
  }

  // The rest of the upstream request after send_request_now(): what the socket did not take, then
  // the rest of a body larger than max_inspect_bytes, piece by piece (that part cannot be
  // replayed).
  task<error_code> send_rest_of_request(proxy::UpstreamStream& upstream) {
    if (!req_out_.empty()) {
      std::size_t sent = 0;
      if (auto ec = co_await write_rest(upstream, req_out_, cfg_.proxy.connection_timeout, sent)) {
        co_return ec;
      }
    }
    while (!parser_.is_done()) {
      auto [rec, rn] = co_await read_client_piece(bufs_.piece.data(), bufs_.piece.size());
      if (rec) {
        client_keep_alive_ = false;
        client_error_ = rec;
        co_return rec;
      }
      char line[24];
      Gather more;
      add_piece(more, line, {bufs_.piece.data(), rn}, chunked_in_, parser_.is_done());
      if (more.empty()) continue;
      if (auto wec = co_await send_upstream(upstream, more, cfg_.proxy.read_timeout)) {
        co_return wec;
      }
    }
    if (!watch_) {
      watch_ = fresh_watch();
      watch_->upstream = &upstream;
      watch_soon(worker_, *watch_);
    }
    co_return error_code{};
  }

  // Sends what the upstream's socket takes of g now; asio::error::would_block when the rest has
  // to wait (always over TLS, whose records only the TLS stream writes).
  static error_code send_upstream_now(proxy::UpstreamStream& upstream, Gather& g) {
    if (upstream.is_tls()) return asio::error::would_block;
    std::size_t sent = 0;
    return g.send_now(upstream.socket().native_handle(), sent);
  }

  // Writes g to the upstream: at once when its socket takes it, else within `timeout`.
  task<error_code> send_upstream(proxy::UpstreamStream& upstream, Gather& g,
                                 config::Duration timeout) {
    auto ec = send_upstream_now(upstream, g);
    std::size_t sent = 0;
    if (ec == asio::error::would_block) ec = co_await write_rest(upstream, g, timeout, sent);
    co_return ec;
  }

  // Everything after the upstream's response headers. (The rare paths are functions of their
  // own: what lives in a coroutine's frame makes it larger, and Asio keeps frames of up to 1 KB
  // for reuse.)
  task<Outcome> respond(proxy::UpstreamStream& upstream, response_parser_t& rp) {
    upstream_status_ = rp.status();
    const auto decisive = decisive_fields(rp);
    const auto cl = rp.content_length();

    // A JSON error small enough to hold: read it whole to decide on retry and to add context.
    std::string error_body;
    bool have_error_body = false;
    if (upstream_status_ >= 400 && !rp.is_done() && (!cl || *cl <= kMaxErrorBody)) {
      if (auto gave_up = co_await read_error_body(upstream, rp, error_body)) co_return *gave_up;
      have_error_body = rp.is_done();
      if (have_error_body && retry_after_error(upstream, rp, error_body)) co_return Outcome::retry;
      if (have_error_body) enrich_error(error_body, decisive.content_type);
    }

    frame_response(
        rp, decisive.connection,
        have_error_body ? std::optional<std::uint64_t>(error_body.size()) : std::nullopt);
    const bool sse = decisive.content_type.substr(0, kSse.size()) == kSse;
    if (sse && watch_) watch_->start_watch();
    body_sent_ = false;

    if (have_error_body) {
      if (co_await send_client(error_body, true)) co_return Outcome::client_gone;
      finish_upstream(upstream, rp);
      keep_after_response_ = client_keep_alive_;
      co_return Outcome::done;
    }

    // An error body too large to hold: the part already read goes out first.
    std::string_view held = error_body;

    // Streams flush their head at once; a plain body goes out with the head in one write.
    if (sse || rp.is_done()) {
      if (co_await send_client({}, rp.is_done())) co_return client_lost(upstream);
    }
    // Pieces already read come from the buffer and go out with no operation queued: both the
    // parse and the write try first what needs no waiting.
    while (!body_sent_) {
      std::string_view piece;
      if (!held.empty()) {
        piece = held;
        held = {};
      } else if (!rp.is_done()) {
        auto r = piece_now(bufs_.upstream_in, rp, bufs_.piece.data(), bufs_.piece.size());
        if (!r) {
          const auto waiting_since = Clock::now();
          ReadParse<proxy::UpstreamStream, response_parser_t> reader(
              upstream, bufs_.upstream_in, rp, cfg_.proxy.read_timeout, false);
          std::optional<error_code> rec;
          while (!rec) {
            auto [rec_ec, rn] = co_await reader.read();
            rec = reader.after(rec_ec, rn);
          }
          r = piece_read(*rec, rp, bufs_.piece.size());
          upstream_wait_ += Clock::now() - waiting_since;
          if (watch_ && watch_->hung_up) co_return client_lost(upstream);
        }
        const auto [ec, n] = *r;
        if (ec) co_return co_await upstream_lost(ec, sse);
        if (n == 0 && !rp.is_done()) continue;
        piece = {bufs_.piece.data(), n};
        usage_.feed(piece);
      }
      char line[24];
      Gather g;
      auto ec = send_client_now(g, line, piece, rp.is_done());
      if (is(ec, asio::error::would_block)) ec = co_await send_client_rest(g);
      if (ec) co_return client_lost(upstream);
    }
    finish_upstream(upstream, rp);
    keep_after_response_ = client_keep_alive_;
    co_return Outcome::done;
  }

  struct DecisiveFields {
    std::string_view content_type, connection;
  };
  // The fields decisions depend on, in one pass by field code.
  static DecisiveFields decisive_fields(const response_parser_t& rp) {
    DecisiveFields d;
    bool content_type_seen = false, connection_seen = false;
    for (const auto& f : rp.fields()) {
      if (f.name == http::field::content_type && !content_type_seen) {
        d.content_type = f.value;
        content_type_seen = true;
      } else if (f.name == http::field::connection && !connection_seen) {
        d.connection = f.value;
        connection_seen = true;
      }
    }
    return d;
  }

  // Reads an upstream error body (up to kMaxErrorBody) into `body`; the outcome when the upstream
  // or the client failed meanwhile.
  task<std::optional<Outcome>> read_error_body(proxy::UpstreamStream& upstream,
                                               response_parser_t& rp, std::string& body) {
    while (!rp.is_done() && body.size() <= kMaxErrorBody) {
      auto r = piece_now(bufs_.upstream_in, rp, bufs_.piece.data(), bufs_.piece.size());
      if (!r) {
        const auto rec = co_await read_and_parse(upstream, bufs_.upstream_in, rp,
                                                 cfg_.proxy.read_timeout, false);
        r = piece_read(rec, rp, bufs_.piece.size());
      }
      const auto [ec, n] = *r;
      body.append(bufs_.piece.data(), n);
      if (ec) {
        if (watch_ && watch_->hung_up) co_return Outcome::client_gone;
        last_error_ =
            "endpoint " + endpoint_->cfg.name + " failed sending its error: " + ec.message();
        transport_failure();
        co_return Outcome::retry;
      }
    }
    co_return std::nullopt;
  }

  // Whether a whole error answer (502/503/504, or LiteLLM's 429 "No deployments available") goes
  // to another endpoint instead of the client; the upstream connection is done with if so.
  bool retry_after_error(proxy::UpstreamStream& upstream, response_parser_t& rp,
                         const std::string& body) {
    const int s = upstream_status_;
    if (s != 502 && s != 503 && s != 504 && s != 429) return false;
    const bool no_deployments =
        s != 429 || body.find("No deployments available") != std::string::npos;
    if (!no_deployments || !can_replay() || !more_attempts_allowed() ||
        !sh_.pool.has_candidate(model_, tried_)) {
      return false;
    }
    last_error_ = "endpoint " + endpoint_->cfg.name + " answered " + std::to_string(s);
    finish_upstream(upstream, rp);
    return true;
  }

  // A JSON error body gets the provider and endpoint added.
  void enrich_error(std::string& body, std::string_view content_type) const {
    if (content_type.find("json") == std::string_view::npos) return;
    if (auto enriched =
            observe::enrich_upstream_error(body, provider_of_model(), endpoint_->cfg.name))
      body = std::move(*enriched);
  }

  // The client's framing (status_, chunked_out_, keep-alive) and the response head, into
  // bufs_.head. `error_length`: the length of an upstream error body read whole.
  void frame_response(const response_parser_t& rp, std::string_view connection,
                      std::optional<std::uint64_t> error_length) {
    const bool head = parser_.method() == http::verb::head;
    const int s = upstream_status_;
    const bool bodiless = head || s / 100 == 1 || s == 204 || s == 304;
    status_ = s;
    // Chunked stays chunked, a length stays a length; a close-delimited upstream body is re-framed
    // as chunked for keep-alive clients. HTTP/1.0 clients cannot read chunks: theirs ends with
    // the connection.
    chunked_out_ = false;
    std::optional<std::uint64_t> length = error_length;
    if (!error_length && !bodiless) {
      if (const auto cl = rp.content_length(); cl && !rp.chunked()) {
        length = *cl;
      } else if (parser_.version() >= 11) {
        chunked_out_ = true;
      } else {
        client_keep_alive_ = false;
      }
    }
    write_response_head(rp, connection, length, bodiless && !error_length);
  }

  // The response head for the client, into bufs_.head: the upstream's fields without hop-by-hop
  // ones, its framing replaced by olla's (`length`, else chunked_out_, else none), X-Olla-*.
  void write_response_head(const response_parser_t& rp, std::string_view connection,
                           std::optional<std::uint64_t> length, bool keep_upstream_length) {
    proxy::HeadWriter w(bufs_.head);
    const auto status = static_cast<unsigned>(rp.status());
    w.status_line(status, rp.reason().empty()
                              ? std::string_view(http::obsolete_reason(http::int_to_status(status)))
                              : rp.reason());
    for (const auto& f : rp.fields()) {
      const auto name = f.name_string;
      if (proxy::is_hop_by_hop(name) || f.name == http::field::transfer_encoding) continue;
      // Framing comes from what the parser decoded, never copied (a HEAD or 304 answer keeps the
      // length of the body it stands for).
      if (f.name == http::field::content_length && !keep_upstream_length) continue;
      if (stamped(name) || proxy::connection_lists(connection, name)) continue;
      w.field(name, f.value);
    }
    stamp(w);
    if (length) {
      w.field("Content-Length", *length);
    } else if (chunked_out_) {
      w.field("Transfer-Encoding", "chunked");
    }
    if (!client_keep_alive_) {
      w.field("Connection", "close");
    } else if (parser_.version() < 11) {
      w.field("Connection", "keep-alive");
    }
    w.finish();
  }

  // The upstream failed after the client got the headers: SSE clients get an error frame and a
  // terminated body (so SDKs raise instead of seeing a clean end); other bodies are cut.
  task<Outcome> upstream_lost(error_code ec, bool sse) {
    transport_failure();
    if (!response_started_) {
      // Nothing reached the client yet: another endpoint may still answer.
      last_error_ = "endpoint " + endpoint_->cfg.name + " failed mid-response: " + ec.message();
      co_return Outcome::retry;
    }
    endpoint_->failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("endpoint {} failed mid-response (request {}): {}", endpoint_->cfg.name, rid_,
                 ec.message());
    keep_after_response_ = false;
    if (sse && chunked_out_) {
      std::string frame = observe::stream_error_frame("upstream endpoint " + endpoint_->cfg.name +
                                                      " failed mid-stream: " + ec.message());
      keep_after_response_ = !co_await send_client(frame, true) && client_keep_alive_;
    }
    co_return Outcome::done;
  }

  // Writes the response head if it has not gone yet, then `data` framed for the client, then the
  // end of the body when `last`, in one write. From here on the request cannot be replayed.
  task<error_code> send_client(std::string_view data, bool last) {
    char line[24];
    Gather g;
    auto ec = send_client_now(g, line, data, last);
    if (is(ec, asio::error::would_block)) ec = co_await send_client_rest(g);
    co_return ec;
  }

  // send_client's first half: frames into `g` and sends what the socket takes now;
  // asio::error::would_block when the rest of `g` must wait (send_client_rest).
  error_code send_client_now(Gather& g, char (&line)[24], std::string_view data, bool last) {
    if (!response_started_) {
      g.add(bufs_.head);
      response_started_ = true;
      first_byte_at_ = Clock::now();
    }
    add_piece(g, line, data, chunked_out_, last);
    body_sent_ = last;
    return g.send_now(client_.socket().native_handle(), bytes_out_);
  }

  task<error_code> send_client_rest(Gather& g) {
    std::size_t sent = 0;
    const auto ec = co_await write_rest(client_, g, cfg_.proxy.read_timeout, sent);
    bytes_out_ += sent;
    co_return ec;
  }

  // A connection-level failure on the request path (never a client's cancellation, never an HTTP
  // answer): counts toward the endpoint's circuit breaker.
  void transport_failure() {
    if (endpoint_->breaker.on_failure(Clock::now())) {
      sh_.metrics.record_breaker_open(endpoint_->cfg.name);
      spdlog::warn("endpoint {}: circuit breaker open for {} after repeated connection failures",
                   endpoint_->cfg.name, config::format_duration(cfg_.proxy.breaker_cooldown));
    }
  }

  Outcome client_lost(proxy::UpstreamStream& upstream) {
    upstream.close();  // LiteLLM sees the hang-up and stops generating
    return Outcome::client_gone;
  }

  void finish_upstream(proxy::UpstreamStream& upstream, response_parser_t& rp) {
    if (rp.is_done()) endpoint_->breaker.on_success();  // a whole response: the transport works
    if (rp.is_done() && rp.keep_alive() && !endpoint_->retired.load()) {
      worker_.upstreams.give_back(endpoint_index_, std::move(upstream));
    } else {
      upstream.close();
    }
  }

  bool more_attempts_allowed() const { return tried_.size() < max_attempts(); }

  // The connection's hang-up watch, unless a receive of an earlier request's is still pending
  // on it (its handler holds a reference): then a new one.
  std::shared_ptr<HangupWatch> fresh_watch() {
    auto& w = bufs_.watch;
    if (w && w.use_count() == 1) {
      w->unlink();
      w->upstream = nullptr;
      w->hung_up = false;
      return w;
    }
    w = std::make_shared<HangupWatch>(client_.socket());
    return w;
  }

  std::size_t max_attempts() const {
    if (!cfg_.proxy.retry_enabled) return 1;
    return cfg_.proxy.retry_max_attempts ? static_cast<std::size_t>(cfg_.proxy.retry_max_attempts)
                                         : sh_.pool.size();
  }

  std::string provider_of_model() const {
    if (model_.empty()) return {};
    auto p = sh_.pool.models().provider_of(model_);
    return p.empty() ? pool::resolve_provider(model_, "", "") : p;
  }

  void stamp(proxy::HeadWriter& w) const {
    w.field("X-Olla-Endpoint", endpoint_->cfg.name);
    w.field("X-Olla-Backend-Type", endpoint_->cfg.type);
    if (!model_.empty() && proxy::is_header_safe(model_)) w.field("X-Olla-Model", model_);
    w.field("X-Olla-Request-ID", rid_);
    w.field("X-Olla-Response-Time", proxy::format_response_time(headers_at_ - start_));
    for (const auto& [name, value] : extra_headers_) w.field(name, value);
  }

  // Upstream fields olla writes itself (X-Olla-*, CORS, rate-limit figures): theirs are dropped.
  bool stamped(std::string_view name) const {
    constexpr std::string_view kOwn = "X-Olla-";
    if (name.size() >= kOwn.size() && proxy::iequals(name.substr(0, kOwn.size()), kOwn)) {
      return true;
    }
    return std::any_of(extra_headers_.begin(), extra_headers_.end(),
                       [&](const auto& h) { return proxy::iequals(h.first, name); });
  }

  // Model ids and paths are any bytes: invalid UTF-8 is replaced, never thrown on.
  static std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

  TimedSocket& client_;
  beast::flat_buffer& cbuf_;
  request_parser_t& parser_;
  ConnBuffers& bufs_;
  Worker& worker_;
  Shared& sh_;
  const config::Config& cfg_;
  const std::string& peer_;
  const Clock::time_point start_;
  Clock::time_point headers_at_{};
  Clock::time_point first_byte_at_{};

  router::Route route_;
  std::string& rid_;  // the connection's (ConnBuffers::request_id)
  std::string model_;
  std::string& body_;  // buffered request body prefix (the connection's, ConnBuffers::body)
  bool body_complete_ = false;
  bool response_started_ = false;  // the response head went to the client
  bool body_sent_ = false;         // ... and the end of its body
  bool chunked_out_ = false;       // the body for the client is chunked
  bool chunked_in_ = false;        // the body for the upstream is chunked
  Gather req_out_;                 // the upstream request's head and buffered body, being sent
  char req_line_[24];              // ... and the size line of its chunk
  bool client_keep_alive_ = true;
  bool keep_after_response_ = false;
  bool timed_out_ = false;
  pool::Indexes tried_;      // endpoints this request went to, in order
  error_code client_error_;  // the client failed while its body was being relayed
  pool::Endpoint* endpoint_ = nullptr;
  std::size_t endpoint_index_ = 0;
  std::shared_ptr<HangupWatch> watch_;
  std::string last_error_;  // why the last attempt failed
  int status_ = 0;
  int upstream_status_ = 0;
  proxy::HeaderList extra_headers_;  // CORS, rate-limit figures, WWW-Authenticate
  Clock::duration upstream_wait_{};  // waiting on the upstream: response headers and body pieces
  observe::UsageScanner usage_;      // token counts from the relayed body
  int retries_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
};

// One Transfer-Encoding field, exactly "chunked", or none. Anything else (two fields, identity,
// gzip, "chunked, identity") is where proxies and backends disagree about where a body ends:
// refused, never forwarded (RFC 9112 6.1, 6.3).
bool valid_transfer_encoding(const request_parser_t& req) {
  const proxy::RequestParser::Field* te = nullptr;
  for (const auto& f : req.fields()) {
    if (f.name != http::field::transfer_encoding) continue;
    if (te) return false;
    te = &f;
  }
  if (!te) return true;
  std::string_view v = te->value;
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return proxy::iequals(v, "chunked");
}

// An error before any request could be parsed: 400 / 431 / 413 JSON, then close.
task<void> reject(TimedSocket& client, const config::Config& cfg, error_code ec) {
  http::status status = http::status::bad_request;
  std::string type = "invalid_request_error";
  std::string message = "malformed HTTP request: " + ec.message();
  if (ec == http::error::header_limit) {
    status = http::status::request_header_fields_too_large;
    type = "request_too_large";
    message = "request headers exceed server.request_limits.max_header_size";
  } else if (ec == http::error::body_limit) {
    status = http::status::payload_too_large;
    type = "request_too_large";
    message = "request body exceeds server.request_limits.max_body_size";
  }
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "olla");
  res.set(http::field::content_type, "application/json");
  res.set("X-Olla-Request-ID", observe::new_request_id());
  res.keep_alive(false);
  res.body() = observe::error_body(static_cast<int>(status), type, message);
  res.prepare_payload();
  client.expires_after(cfg.server.header_timeout);
  co_await http::async_write(client, res, use_tuple);
}

}  // namespace

task<void> shed_connection(socket_t socket, Shared& shared) {
  TimedSocket client(std::move(socket));
  http::response<http::string_body> res{http::status::service_unavailable, 11};
  res.set(http::field::server, "olla");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::retry_after, "1");
  res.set("X-Olla-Request-ID", observe::new_request_id());
  res.keep_alive(false);
  res.body() = observe::error_body(503, "overloaded",
                                   "the gateway is at server.max_connections; retry shortly");
  res.prepare_payload();
  client.expires_after(std::chrono::seconds(2));
  co_await http::async_write(client, res, use_tuple);
  error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
  client.close();
  (void)shared;
}

task<void> run_session(socket_t socket, tcp::endpoint remote, Worker& worker, Shared& shared) {
  const auto& cfg = shared.cfg;
  shared.connections.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    std::atomic<std::size_t>& total;
    std::atomic<std::size_t>& mine;
    ~Leave() {
      total.fetch_sub(1, std::memory_order_relaxed);
      mine.fetch_sub(1, std::memory_order_relaxed);
    }
  } leave{shared.connections, worker.clients};
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  enable_inq(socket.native_handle());
  const std::string peer = remote.address().to_string();
  TimedSocket client(std::move(socket));
  IdleClient idle;  // in worker.idle_clients while waiting for a request
  idle.socket = &client;
  beast::flat_buffer buf;
  ConnBuffers bufs;
  bool first = true;
  for (;;) {
    request_parser_t parser(bufs.request_head);
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::uint64_t>(cfg.server.max_header_size, UINT32_MAX)));
    parser.body_limit(cfg.server.max_body_size);
    if (worker.stopping) break;
    worker.idle_clients.push_back(idle);
    if (!first && buf.size() == 0) {
      // Between requests the idle timeout applies; once the next request starts, its headers
      // get header_timeout like the first one (slow-header attacks on kept-alive connections).
      client.expires_after(cfg.server.idle_timeout);
      auto [wec, wn] =
          co_await client.async_read_some(DrainingBuffer(buf.prepare(4096), client), use_tuple);
      if (wec) break;
      buf.commit(wn);
    }
    first = false;
    auto rec = parse_buffered(buf, parser);
    if (rec == http::error::need_more) {
      rec = co_await read_and_parse(client, buf, parser, cfg.server.header_timeout, true);
    }
    idle.unlink();
    // The exchange sets a deadline for each wait of its own; the idle one must not cut it short.
    client.expires_never();
    if (!rec && !valid_transfer_encoding(parser)) rec = http::error::bad_transfer_encoding;
    if (rec) {
      if (is_http_parse_error(rec) || rec == http::error::body_limit)
        co_await reject(client, cfg, rec);
      break;
    }
    Exchange exchange(client, buf, parser, bufs, worker, shared, peer);
    const bool keep = co_await exchange.run();
    exchange.log();
    if (!keep) break;
  }
  // No shutdown(SHUT_WR) first: close() sends the FIN after what is queued, and with unread input
  // both end in a reset (Linux's tcp_close), so it would only add a system call per connection.
  client.close();
}

}  // namespace olla::server
