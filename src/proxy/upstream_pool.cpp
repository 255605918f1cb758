#include "upstream_pool.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <unordered_map>

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

// How long a name's addresses are used before it is looked up again (Envoy's default DNS refresh
// rate for its strict-DNS clusters).
constexpr auto kResolvedFor = std::chrono::seconds(5);

// The addresses of the endpoints' host names, per worker thread. Without it each new connection
// asked getaddrinfo, which Asio runs on a thread of its own and posts back: a thousand streams
// opened at once queued a thousand lookups of the same name on that one thread. An address
// literal needs no lookup at all.
struct Resolved {
  std::vector<tcp::endpoint> addresses;
  std::chrono::steady_clock::time_point until;
};
thread_local std::unordered_map<std::string, Resolved> resolved_names;

std::string name_key(const config::EndpointConfig& ep) {
  return ep.host + ':' + std::to_string(ep.port);
}

// The addresses to try for `ep`, in order.
task<error_code> addresses_of(const config::EndpointConfig& ep, std::vector<tcp::endpoint>& out) {
  error_code ec;
  const auto literal = asio::ip::make_address(ep.host, ec);
  if (!ec) {
    out.assign(1, tcp::endpoint(literal, ep.port));
    co_return error_code{};
  }
  const auto key = name_key(ep);
  const auto now = std::chrono::steady_clock::now();
  if (auto it = resolved_names.find(key); it != resolved_names.end() && now < it->second.until) {
    out = it->second.addresses;
    co_return error_code{};
  }
  resolver_t resolver(co_await asio::this_coro::executor);
  auto [rec, results] =
      co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_tuple);
  if (rec) co_return rec;
  out.clear();
  for (const auto& entry : results) out.push_back(entry.endpoint());
  if (out.empty()) co_return asio::error::host_not_found;
  resolved_names[key] = Resolved{out, std::chrono::steady_clock::now() + kResolvedFor};
  co_return error_code{};
}
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
  const auto now = coarse_now();
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
  list.push_back(Idle{std::move(stream), coarse_now()});
}

void UpstreamPool::clear() {
  for (auto& list : idle_) {
    for (auto& idle : list) idle.stream.close();
    list.clear();
  }
}

task<error_code> connect_upstream(UpstreamStream& stream, const config::EndpointConfig& ep,
                                  config::Duration timeout, asio::ssl::context* tls) {
  std::vector<tcp::endpoint> addresses;
  if (auto rec = co_await addresses_of(ep, addresses)) co_return rec;
  // One address after the other, each within what is left of the timeout.
  stream.expires_after(timeout);
  error_code cec = asio::error::host_not_found;
  tcp protocol = tcp::v4();
  for (const auto& address : addresses) {
    if (stream.timed_out()) break;
    error_code ignored;
    stream.socket().close(ignored);
    protocol = address.protocol();
    std::tie(cec) = co_await stream.socket().async_connect(address, use_tuple);
    if (!cec) break;
  }
  if (stream.timed_out()) cec = beast::error::timeout;
  if (cec) {
    resolved_names.erase(name_key(ep));  // none of them took it: look the name up next time
    co_return cec;
  }
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
