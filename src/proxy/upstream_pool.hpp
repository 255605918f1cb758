#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "../server/net.hpp"
#include "olla/config/config.hpp"

namespace olla::proxy {

// Idle keep-alive connections to each endpoint, owned by one worker thread: no locks.
class UpstreamPool {
 public:
  explicit UpstreamPool(std::size_t endpoints, std::size_t max_idle_per_endpoint = 256)
      : idle_(endpoints), max_idle_(max_idle_per_endpoint) {}

  // A pooled connection that still looks open, or nullopt.
  std::optional<net::stream_t> take(std::size_t endpoint);
  void give_back(std::size_t endpoint, net::stream_t&& stream);
  void clear();

 private:
  struct Idle {
    net::stream_t stream;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<std::vector<Idle>> idle_;
  std::size_t max_idle_;
};

// Opens a fresh TCP connection to the endpoint with the connect timeout; TCP_NODELAY set.
net::task<net::error_code> connect_upstream(net::stream_t& stream, const config::EndpointConfig& ep,
                                            config::Duration timeout);

// True when the peer has closed (EOF or error pending) on an idle socket; never blocks.
bool peer_closed(net::socket_t& socket);

}  // namespace olla::proxy
