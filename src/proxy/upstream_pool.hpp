#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "../server/net.hpp"
#include "olla/config/config.hpp"
#include "upstream_request.hpp"
#include "upstream_stream.hpp"

namespace olla::proxy {

// Idle keep-alive connections to each endpoint, owned by one worker thread: no locks.
class UpstreamPool {
 public:
  explicit UpstreamPool(std::size_t endpoints, std::size_t max_idle_per_endpoint = 256)
      : idle_(endpoints), max_idle_(max_idle_per_endpoint) {}

  // A pooled connection that still looks open, or nullopt. One pooled a moment ago is trusted
  // without a look at its socket unless `check_always` (a request that could not be replayed on
  // another connection).
  std::optional<UpstreamStream> take(std::size_t endpoint, bool check_always);
  void give_back(std::size_t endpoint, UpstreamStream&& stream);
  void clear();

 private:
  struct Idle {
    UpstreamStream stream;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<std::vector<Idle>> idle_;
  std::size_t max_idle_;
};

// Opens a fresh connection to the endpoint within the connect timeout (TCP_NODELAY set), with a
// TLS handshake when `tls` is given (https endpoints).
net::task<net::error_code> connect_upstream(UpstreamStream& stream,
                                            const config::EndpointConfig& ep,
                                            config::Duration timeout, net::asio::ssl::context* tls);

// True when an idle socket should not be reused: the peer closed it, it errs, or it has sent
// bytes nobody asked for (a TLS close_notify, a stray response). Never blocks.
bool peer_closed(net::socket_t& socket);

}  // namespace olla::proxy
