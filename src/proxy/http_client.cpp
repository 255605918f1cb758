#include "http_client.hpp"

#include "upstream_pool.hpp"

namespace olla::proxy {

using namespace net;

task<ClientResponse> http_get(const config::EndpointConfig& ep, asio::ssl::context* tls,
                              std::string target, config::Duration timeout,
                              std::size_t body_limit) {
  ClientResponse out;
  UpstreamStream stream(co_await asio::this_coro::executor);
  if (auto ec = co_await connect_upstream(stream, ep, timeout, tls)) {
    out.ec = ec;
    co_return out;
  }
  http::request<http::empty_body> req{http::verb::get, ep.base_path + target, 11};
  req.set(http::field::host, host_header(ep));
  if (!ep.auth_header.empty()) req.set(ep.auth_header, ep.auth_value);
  for (const auto& [name, value] : ep.headers) req.set(name, value);
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
  stream.close();
  co_return out;
}

}  // namespace olla::proxy
