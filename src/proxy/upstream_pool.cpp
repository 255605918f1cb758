#include "upstream_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace olla::proxy {

using namespace net;

namespace {
// LiteLLM runs on uvicorn, whose keep-alive timeout defaults to 5 s; older connections are
// likely closed on the far side, so they are not worth the retry.
constexpr auto kMaxIdleAge = std::chrono::seconds(4);
// A connection back in the pool for less than this is taken without looking at its socket first
// (a recv syscall per request under load); were it closed after all, a replayable request is
// retried on a fresh connection.
constexpr auto kTrustedIdleAge = std::chrono::milliseconds(200);
}  // namespace

bool peer_closed(socket_t& socket) {
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  return true;  // unsolicited bytes on an idle connection: not safe to reuse
}

std::optional<UpstreamStream> UpstreamPool::take(std::size_t endpoint, bool check_always) {
  if (endpoint >= idle_.size()) return std::nullopt;  // an endpoint added by a reload
  auto& list = idle_[endpoint];
  const auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    const auto age = now - idle.since;
    const bool check = check_always || age > kTrustedIdleAge;
    if (age > kMaxIdleAge || (check && peer_closed(idle.stream.socket()))) {
      idle.stream.close();
      continue;
    }
    return std::move(idle.stream);
  }
  return std::nullopt;
}

void UpstreamPool::give_back(std::size_t endpoint, UpstreamStream&& stream) {
  if (endpoint >= idle_.size()) idle_.resize(endpoint + 1);
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
    for (auto& idle : list) idle.stream.close();
    list.clear();
  }
}

task<error_code> connect_upstream(UpstreamStream& stream, const config::EndpointConfig& ep,
                                  config::Duration timeout, asio::ssl::context* tls) {
  resolver_t resolver(co_await asio::this_coro::executor);
  auto [rec, results] =
      co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_tuple);
  if (rec) co_return rec;
  // One address after the other, each within what is left of the timeout.
  stream.expires_after(timeout);
  error_code cec = asio::error::host_not_found;
  tcp protocol = tcp::v4();
  for (const auto& entry : results) {
    if (stream.timed_out()) break;
    error_code ignored;
    stream.socket().close(ignored);
    protocol = entry.endpoint().protocol();
    std::tie(cec) = co_await stream.socket().async_connect(entry.endpoint(), use_tuple);
    if (!cec) break;
  }
  if (stream.timed_out()) cec = beast::error::timeout;
  if (cec) co_return cec;
  stream.expires_never();
  // Waiting for the connection registered the socket for writability (edge-triggered EPOLLOUT),
  // so each ACK of a request would wake the event loop with nothing to do: requests go out with
  // a plain send (Gather::send_now), and a write that has to wait registers it again. Registered
  // afresh without it, once per connection.
  const int fd = stream.socket().release(cec);
  if (cec) co_return cec;
  stream.socket().assign(protocol, fd, cec);
  if (cec) {
    ::close(fd);
    co_return cec;
  }
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  enable_inq(fd);
  if (tls) {
    if (auto hec = co_await stream.handshake(*tls, ep, timeout)) co_return hec;
  }
  co_return error_code{};
}

}  // namespace olla::proxy
