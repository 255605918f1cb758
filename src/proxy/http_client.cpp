#include "http_client.hpp"

#include "upstream_pool.hpp"

namespace olla::proxy {

using namespace net;

task<ClientResponse> http_get(const config::EndpointConfig& ep, std::string target,
                              config::Duration timeout, std::size_t body_limit) {
  ClientResponse out;
  stream_t stream(co_await asio::this_coro::executor);
  if (auto ec = co_await connect_upstream(stream, ep, timeout)) {
    out.ec = ec;
    co_return out;
  }
  http::request<http::empty_body> req{http::verb::get, ep.base_path + target, 11};
  req.set(http::field::host, ep.host + ":" + std::to_string(ep.port));
  req.set(http::field::user_agent, "olla-health/" OLLA_VERSION);
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  stream.expires_after(timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
  if (wec) {
    out.ec = wec;
    co_return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (rec) {
    out.ec = rec;
    co_return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = std::move(res.body());
  if (auto it = res.find(http::field::retry_after); it != res.end()) out.retry_after = it->value();
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

}  // namespace olla::proxy
