#include "harness.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <thread>

#include "olla/config/config.hpp"

namespace olla::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kTimeout = std::chrono::seconds(15);

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

RawResponse parse_response(const std::string& raw) {
  RawResponse r;
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return r;
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  for (int i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(raw[i]))) return r;
    r.status = r.status * 10 + (raw[i] - '0');
  }
  r.head = lower(raw.substr(0, end));
  std::size_t length = 0;
  if (auto p = r.head.find("\r\ncontent-length:"); p != std::string::npos) {
    length = std::stoul(r.head.substr(p + 17));
  }
  if (raw.size() < end + 4 + length) return r;
  r.body = raw.substr(end + 4, length);
  r.consumed = end + 4 + length;
  return r;
}

bool response_complete(const std::string& raw) { return parse_response(raw).consumed != 0; }

namespace {

template <typename Fields>
void copy_headers(const Fields& from, Response& to) {
  for (const auto& f : from)
    to.headers[lower(std::string(f.name_string()))] = std::string(f.value());
}

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& body, const Headers& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1");
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    has_type = has_type || lower(k) == "content-type";
  }
  if (!body.empty() && !has_type) req.set(http::field::content_type, "application/json");
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  return req;
}

// Runs a coroutine to completion on a private io_context.
template <typename F>
void run(F&& f) {
  asio::io_context ioc;
  asio::co_spawn(ioc, std::forward<F>(f)(), asio::detached);
  ioc.run();
}

}  // namespace

Response request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body, const Headers& headers) {
  Response out;
  run([&]() -> asio::awaitable<void> {
    beast::tcp_stream s(co_await asio::this_coro::executor);
    s.expires_after(kTimeout);
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                          use_tuple);
    if (cec) co_return;
    auto req = make_request(method, target, body, headers);
    auto [wec, wn] = co_await http::async_write(s, req, use_tuple);
    if (wec) co_return;
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.body_limit(64u << 20);
    if (method == "HEAD") p.skip(true);
    auto [rec, rn] = co_await http::async_read(s, buf, p, use_tuple);
    if (rec) co_return;
    out.status = p.get().result_int();
    copy_headers(p.get(), out);
    out.body = p.get().body();
  });
  return out;
}

StreamResult stream(std::uint16_t port, const std::string& target, const std::string& body,
                    const Headers& headers, int stop_after_frames) {
  StreamResult out;
  run([&]() -> asio::awaitable<void> {
    beast::tcp_stream s(co_await asio::this_coro::executor);
    s.expires_after(kTimeout);
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                          use_tuple);
    if (cec) {
      out.error = cec.message();
      co_return;
    }
    s.socket().set_option(tcp::no_delay(true));
    auto req = make_request("POST", target, body, headers);
    const auto sent = Clock::now();
    auto [wec, wn] = co_await http::async_write(s, req, use_tuple);
    if (wec) {
      out.error = wec.message();
      co_return;
    }
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> p;
    p.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(s, buf, p, use_tuple);
    if (hec) {
      out.error = hec.message();
      co_return;
    }
    out.head.status = p.get().result_int();
    copy_headers(p.get(), out.head);
    std::string pending;
    char piece[8192];
    while (!p.is_done()) {
      p.get().body().data = piece;
      p.get().body().size = sizeof piece;
      auto [ec, n] = co_await http::async_read_some(s, buf, p, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = sizeof piece - p.get().body().size;
      const double at = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
      out.head.body.append(piece, got);
      pending.append(piece, got);
      for (auto pos = pending.find("\n\n"); pos != std::string::npos; pos = pending.find("\n\n")) {
        out.frames.push_back({at, pending.substr(0, pos)});
        pending.erase(0, pos + 2);
        if (stop_after_frames >= 0 && static_cast<int>(out.frames.size()) >= stop_after_frames) {
          s.socket().close();  // the client hangs up mid-stream
          co_return;
        }
      }
      if (ec) {
        out.error = ec.message();
        co_return;
      }
    }
    out.complete = true;
  });
  return out;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout, bool* closed) {
  std::string out;
  if (closed) *closed = false;
  run([&]() -> asio::awaitable<void> {
    beast::tcp_stream s(co_await asio::this_coro::executor);
    s.expires_after(timeout);
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                          use_tuple);
    if (cec) co_return;
    // A server that answers early may close before all is written: its answer is still read.
    [[maybe_unused]] auto [wec, wn] = co_await asio::async_write(s, asio::buffer(bytes), use_tuple);
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
      out.append(buf, n);
      if (ec) {
        if (closed) *closed = ec != beast::error::timeout;
        co_return;
      }
    }
  });
  return out;
}

Stack::Stack(std::vector<mock::MockOptions> mocks, const std::string& extra_yaml,
             const std::string& check_interval, const std::vector<std::string>& endpoint_yaml,
             const std::function<void(config::Config&)>& tweak)
    : options_(mocks) {
  spdlog::set_level(std::getenv("OLLA_TEST_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
  std::string yaml =
      "server:\n  host: 127.0.0.1\n  port: 0\n  threads: 2\n"
      "logging:\n  level: warn\n  format: text\n"
      "discovery:\n  static:\n    endpoints:\n";
  for (std::size_t i = 0; i < mocks.size(); ++i) {
    mocks_.push_back(std::make_unique<mock::MockLiteLLM>(mocks[i]));
    const auto port = mocks_.back()->start();
    yaml += "      - url: http://127.0.0.1:" + std::to_string(port) + "\n";
    yaml += "        name: " + endpoint_name(i) + "\n";
    yaml += "        type: litellm\n        check_interval: " + check_interval + "\n";
    yaml += "        check_timeout: 500ms\n";
    if (i < endpoint_yaml.size()) {
      std::size_t from = 0;
      while (from < endpoint_yaml[i].size()) {
        auto to = endpoint_yaml[i].find('\n', from);
        if (to == std::string::npos) to = endpoint_yaml[i].size();
        if (to > from) yaml += "        " + endpoint_yaml[i].substr(from, to - from) + "\n";
        from = to + 1;
      }
    }
  }
  yaml += extra_yaml;
  auto cfg = config::load_string(yaml, "test.yaml");
  if (tweak) tweak(cfg);  // for keys the YAML above already holds (server.*)
  gateway_ = std::make_unique<server::Gateway>(std::move(cfg));
  port_ = gateway_->start();
}

std::string Stack::endpoint_name(std::size_t i) const {
  return options_.size() == 1 ? std::string("litellm-gateway") : "litellm-" + std::to_string(i);
}

std::uint16_t Stack::restart_mock(std::size_t i) {
  const auto port = mocks_[i]->port();
  mocks_[i]->stop();
  auto opts = options_[i];
  opts.port = port;
  mocks_[i] = std::make_unique<mock::MockLiteLLM>(opts);
  return mocks_[i]->start();
}

Stack::~Stack() {
  gateway_->stop();
  for (auto& m : mocks_) m->stop();
}

bool Stack::wait_healthy(std::size_t healthy, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto r = request(port_, "GET", "/olla/litellm/health");
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("endpoints") && j["endpoints"]["healthy"] == healthy &&
        j["models"].get<int>() > 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string chat_body(const std::string& model, bool stream, bool include_usage) {
  nlohmann::json j = {{"model", model},
                      {"messages", {{{"role", "user"}, {"content", "Explain quantum computing."}}}},
                      {"stream", stream}};
  if (include_usage) j["stream_options"] = {{"include_usage", true}};
  return j.dump();
}

}  // namespace olla::test
