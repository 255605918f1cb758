// Request parsing through the session, without sockets: the input is what a client sends. It goes
// through proxy::RequestParser (Beast's basic_parser, the head kept as views) as session.cpp
// drives it (header first with the
// default header limit, then the body in 16 KiB pieces up to max_inspect_bytes), then through what
// the session does with a request: route, CORS, the rate limiter's client address (X-Forwarded-For
// lines joined as over_rate_limits() joins them), extract_model, and for proxied routes the
// upstream request that send_request() writes (its head by the same
// proxy::write_upstream_request(), then the body). That upstream request is parsed back: it must be
// exactly one well-framed request carrying the client's body, without hop-by-hop headers. The body
// is also handed to enrich_upstream_error, as an upstream error body would be.
#include <algorithm>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../../src/proxy/upstream_request.hpp"
#include "fuzz_head.hpp"
#include "olla/config/config.hpp"
#include "olla/limits/rate_limiter.hpp"
#include "olla/observe/error.hpp"
#include "olla/proxy/cors.hpp"
#include "olla/proxy/header_rules.hpp"
#include "olla/proxy/request_inspect.hpp"
#include "olla/router/route.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using namespace olla;

namespace {

constexpr std::size_t kPiece = 16 * 1024;  // session.cpp's relay piece
constexpr std::string_view kPeer = "10.0.0.7";

struct Fixtures {
  config::ServerConfig server;  // defaults: 64 KiB header limit, 100 MB body limit
  config::ProxyConfig proxy;    // defaults: max_inspect_bytes 1 MiB
  config::EndpointConfig ep;
  proxy::Cors cors{proxy::CorsConfig{true, {"*"}, false, 600}};
  std::unique_ptr<limits::RateLimiter> limiter;

  Fixtures() {
    ep.name = "litellm-a";
    ep.base_path = "/gw";
    ep.auth_header = "Authorization";
    ep.auth_value = "Bearer sk-olla";
    ep.headers = {{"X-Team", "platform"}};
    limits::RateLimitConfig rl;
    rl.per_ip_per_minute = 6000;
    rl.max_tracked_ips = 512;
    rl.trusted_proxy_cidrs = {"10.0.0.0/8"};
    limiter = std::make_unique<limits::RateLimiter>(rl);
  }
};

Fixtures& fixtures() {
  static Fixtures f;
  return f;
}

std::uint32_t parser_header_limit(const Fixtures& fx) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(fx.server.max_header_size, UINT32_MAX));
}

// Names olla itself writes on the upstream request, whatever the client listed in Connection.
bool set_by_olla(std::string_view name, const config::EndpointConfig& ep) {
  for (std::string_view own :
       {"Host", "X-Request-ID", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"}) {
    if (proxy::iequals(name, own)) return true;
  }
  if (proxy::iequals(name, ep.auth_header)) return true;
  return std::any_of(ep.headers.begin(), ep.headers.end(),
                     [&](const auto& h) { return proxy::iequals(h.first, name); });
}

// The upstream's view: parse the wire bytes back. They must hold exactly one complete request.
void check_upstream_sees(const std::string& wire, const proxy::RequestParser& in,
                         const std::string& body, const std::string& target,
                         const config::EndpointConfig& ep) {
  http::request_parser<http::string_body> p;
  p.eager(true);
  p.header_limit(1u << 20);
  p.body_limit(boost::none);
  error_code ec;
  std::size_t used = 0;
  while (!ec && !p.is_done() && used < wire.size()) {
    const auto n = p.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
    used += n;
    if (n == 0 && !ec) break;
  }
  if (ec) std::fprintf(stderr, "upstream parse error: %s\n", ec.message().c_str());
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(p.is_done());
  if (used != wire.size()) {
    std::fprintf(stderr, "upstream sees %zu more byte(s) after the request: %s\n",
                 wire.size() - used, wire.substr(used, 200).c_str());
  }
  FUZZ_CHECK(used == wire.size());  // nothing left over: no second request smuggled in the body
  const auto& up = p.get();
  if (up.body() != body) {
    std::fprintf(stderr, "upstream body (%zu bytes) != client body (%zu bytes)\n", up.body().size(),
                 body.size());
  }
  FUZZ_CHECK(up.body() == body);
  FUZZ_CHECK(up.method_string() == in.method_string());
  FUZZ_CHECK(up.target() == target);
  const auto tokens = olla::fuzz::connection_tokens(in.value_of(http::field::connection));
  std::size_t hosts = 0, xff = 0;
  for (const auto& f : up) {
    const auto name = f.name_string();
    FUZZ_CHECK(!proxy::is_hop_by_hop(name));
    // What the client listed in Connection is gone, except what olla sets itself and the framing
    // (Content-Length, Transfer-Encoding: dropping those unframes the body).
    if (!set_by_olla(name, ep) && f.name() != http::field::content_length &&
        f.name() != http::field::transfer_encoding) {
      FUZZ_CHECK(std::none_of(tokens.begin(), tokens.end(),
                              [&](const std::string& t) { return proxy::iequals(t, name); }));
    }
    if (f.name() == http::field::host) ++hosts;
    if (proxy::iequals(name, "X-Forwarded-For")) ++xff;
  }
  FUZZ_CHECK(hosts == 1 && xff == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& fx = fixtures();
  std::string_view rest = olla::fuzz::as_view(data, size);

  // session(): async_read_header with the configured limits.
  static proxy::RequestParser::Storage storage;  // the connection's, reused
  proxy::RequestParser parser(storage);
  parser.header_limit(parser_header_limit(fx));
  parser.body_limit(fx.server.max_body_size);
  // Beast's own parser on the same bytes: the same verdict, and the same head.
  http::request_parser<http::empty_body> theirs;
  theirs.header_limit(parser_header_limit(fx));
  theirs.body_limit(fx.server.max_body_size);
  error_code ec, their_ec;
  std::string_view their_rest = rest;
  while (!parser.is_header_done()) {
    const auto n = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    const auto m = theirs.put(boost::asio::buffer(their_rest.data(), their_rest.size()), their_ec);
    FUZZ_CHECK(ec == their_ec);
    FUZZ_CHECK(n == m);
    rest.remove_prefix(n);
    their_rest.remove_prefix(m);
    if (ec) return 0;  // need_more: the client has not sent the whole header; else a 400/431
    if (n == 0) return 0;
  }
  FUZZ_CHECK(theirs.is_header_done());
  const auto& req = parser;
  {
    const auto& t = theirs.get();
    FUZZ_CHECK(t.method_string() == req.method_string());
    FUZZ_CHECK(t.method() == req.method());
    FUZZ_CHECK(t.target() == req.target());
    FUZZ_CHECK(static_cast<int>(t.version()) == req.version());
    olla::fuzz::check_same_fields(olla::fuzz::copy_fields(t), req.fields());
    FUZZ_CHECK(theirs.keep_alive() == req.keep_alive());
    FUZZ_CHECK(theirs.content_length() == req.content_length());
    FUZZ_CHECK(theirs.chunked() == req.chunked());
    FUZZ_CHECK(theirs.is_done() == req.is_done());
  }

  // Exchange::run(): route, CORS, the rate limiter.
  // As run_session(): one Transfer-Encoding, exactly "chunked", or none; anything else is a 400.
  {
    const proxy::RequestParser::Field* te = nullptr;
    for (const auto& f : req.fields()) {
      if (f.name != http::field::transfer_encoding) continue;
      if (te) return 0;
      te = &f;
    }
    if (te) {
      std::string_view v = te->value;
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      if (!proxy::iequals(v, "chunked")) return 0;
    }
  }
  const auto route = router::route(req.method_string(), req.target());
  const auto origin = req.value_of(http::field::origin);
  if (proxy::Cors::is_preflight(req.method_string(), origin,
                                req.value_of(http::field::access_control_request_method))) {
    (void)fx.cors.preflight_headers(origin,
                                    req.value_of(http::field::access_control_request_headers));
  } else {
    (void)fx.cors.response_headers(origin);
  }
  std::string forwarded;  // as over_rate_limits() joins the X-Forwarded-For lines
  for (const auto& f : req.fields()) {
    if (f.name != http::field::unknown || !proxy::iequals(f.name_string, "X-Forwarded-For")) {
      continue;
    }
    if (!forwarded.empty()) forwarded += ',';
    forwarded += f.value;
  }
  std::string every_line;  // every X-Forwarded-For line, in order, by name alone
  for (const auto& f : req.fields()) {
    if (!proxy::iequals(f.name_string, "X-Forwarded-For")) continue;
    if (!every_line.empty()) every_line += ',';
    every_line += f.value;
  }
  const std::string client = fx.limiter->client_ip(kPeer, forwarded);
  (void)fx.limiter->check(client, false, limits::RateLimiter::Clock::now());
  // A client must not hide X-Forwarded-For lines from the rate limiter by putting another header
  // between them (the trusted proxy's own line usually comes last).
  if (forwarded != every_line) {
    std::fprintf(stderr, "rate limiter reads X-Forwarded-For '%s' of '%s'\n", forwarded.c_str(),
                 every_line.c_str());
  }
  FUZZ_CHECK(forwarded == every_line);

  if (route.kind != router::RouteKind::proxy) return 0;

  // proxy(): buffer the body, piece by piece, up to max_inspect_bytes.
  std::string body;
  std::uint64_t bytes_in = 0;
  const auto limit = fx.proxy.max_inspect_bytes;
  while (!parser.is_done() && body.size() < limit) {
    const auto old = body.size();
    const auto want = std::min<std::size_t>(kPiece, limit - old);
    body.resize(old + want);
    parser.body_buffer(body.data() + old, want);
    const auto n = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(n);
    if (ec == http::error::need_buffer) ec = {};
    const auto got = want - parser.body_room();
    body.resize(old + got);
    bytes_in += got;
    if (!ec && bytes_in > fx.server.max_body_size) ec = http::error::body_limit;
    if (ec) return 0;  // need_more (the client is still sending), 400 or 413
    if (n == 0 && got == 0) return 0;
  }
  if (!parser.is_done()) return 0;  // larger than max_inspect_bytes: streamed, not inspected
  const std::string model = proxy::extract_model(body);
  if (proxy::is_header_safe(model)) FUZZ_CHECK(model.size() <= 256);

  // An upstream error body of the same bytes.
  if (auto enriched = observe::enrich_upstream_error(body, "openai", fx.ep.name)) {
    const auto j = nlohmann::json::parse(*enriched, nullptr, false);
    FUZZ_CHECK(j.is_object() && j["error"].is_object());
    FUZZ_CHECK(j["error"]["endpoint"] == fx.ep.name);
  }

  // send_request(): the rewritten head and the buffered body, as the upstream receives them.
  const auto framing =
      proxy::request_framing(true, body.size(), parser.chunked(), parser.content_length());
  std::string wire;
  proxy::write_upstream_request(wire, req, fx.ep, route.upstream_target, framing,
                                "0123456789abcdef0123456789abcdef", kPeer);
  wire += body;
  check_upstream_sees(wire, req, body, fx.ep.base_path + route.upstream_target, fx.ep);
  return 0;
}
