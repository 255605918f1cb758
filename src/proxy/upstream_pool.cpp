#include "upstream_pool.hpp"

#include <sys/socket.h>

namespace olla::proxy {

using namespace net;

namespace {
// LiteLLM runs on uvicorn, whose keep-alive timeout defaults to 5 s; older connections are
// likely closed on the far side, so they are not worth the retry.
constexpr auto kMaxIdleAge = std::chrono::seconds(4);
}  // namespace

bool peer_closed(socket_t& socket) {
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  return false;  // bytes pending on an idle upstream connection: unexpected, but not closed
}

std::optional<stream_t> UpstreamPool::take(std::size_t endpoint) {
  auto& list = idle_[endpoint];
  const auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    if (now - idle.since > kMaxIdleAge || peer_closed(idle.stream.socket())) {
      error_code ignored;
      idle.stream.socket().close(ignored);
      continue;
    }
    return std::move(idle.stream);
  }
  return std::nullopt;
}

void UpstreamPool::give_back(std::size_t endpoint, stream_t&& stream) {
  auto& list = idle_[endpoint];
  if (list.size() >= max_idle_) {
    stream.close();
    return;
  }
  stream.expires_never();
  list.push_back(Idle{std::move(stream), std::chrono::steady_clock::now()});
}

void UpstreamPool::clear() {
  for (auto& list : idle_) {
    for (auto& idle : list) {
      error_code ignored;
      idle.stream.socket().close(ignored);
    }
    list.clear();
  }
}

task<error_code> connect_upstream(stream_t& stream, const config::EndpointConfig& ep,
                                  config::Duration timeout) {
  resolver_t resolver(co_await asio::this_coro::executor);
  auto [rec, results] =
      co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_tuple);
  if (rec) co_return rec;
  stream.expires_after(timeout);
  auto [cec, connected] = co_await stream.async_connect(results, use_tuple);
  if (cec) co_return cec;
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  co_return error_code{};
}

}  // namespace olla::proxy
