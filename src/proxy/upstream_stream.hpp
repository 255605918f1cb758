#pragma once

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../server/net.hpp"
#include "../server/timed_socket.hpp"
#include "olla/config/config.hpp"

namespace olla::proxy {

using tls_stream_t = net::beast::ssl_stream<net::stream_t>;

// One upstream connection, plain TCP or TLS behind the same type, so the relay is written once.
// Plain connections time out through TimedSocket's lazy deadline; TLS ones through the
// beast::basic_stream under the TLS layer (it reports beast::error::timeout itself).
class UpstreamStream {
 public:
  using executor_type = net::executor_t;

  explicit UpstreamStream(executor_type ex) : tcp_(ex) {}

  executor_type get_executor() { return tcp_.get_executor(); }
  net::socket_t& socket() { return tls_ ? tls_->next_layer().socket() : tcp_.socket(); }
  void expires_after(std::chrono::steady_clock::duration d) {
    if (tls_) {
      tls_->next_layer().expires_after(d);
    } else {
      tcp_.expires_after(d);
    }
  }
  void expires_never() {
    if (tls_) {
      tls_->next_layer().expires_never();
    } else {
      tcp_.expires_never();
    }
  }
  // A plain connection's deadline passed (its pending operation ended with operation_aborted).
  bool timed_out() const { return !tls_ && tcp_.timed_out(); }
  void close() {
    if (tls_) tls_->next_layer().close();
    tcp_.close();
  }
  bool is_tls() const { return tls_ != nullptr; }

  // Puts TLS over the connected TCP socket and handshakes (SNI, certificate and host name checked
  // unless verification is off in the context's endpoint settings).
  net::task<net::error_code> handshake(net::asio::ssl::context& ctx,
                                       const config::EndpointConfig& ep,
                                       std::chrono::steady_clock::duration timeout);

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return net::asio::async_initiate<Token, void(net::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            tcp_.async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  // The reactor's last events for a plain connection; nullptr over TLS, whose reads are Asio's.
  const unsigned int* reactor_events() { return tls_ ? nullptr : tcp_.reactor_events(); }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return net::asio::async_initiate<Token, void(net::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            tcp_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  net::TimedSocket tcp_;  // the connection until a TLS handshake moves its socket into tls_
  std::unique_ptr<tls_stream_t> tls_;
};

const boost::system::error_category& tls_verify_category();

// The TLS client contexts, one per https endpoint (each may name its own CA file).
// Slots follow the endpoint pool's (reloads add slots, never move them).
class TlsContexts {
 public:
  explicit TlsContexts(const std::vector<config::EndpointConfig>& endpoints);
  // nullptr for an http endpoint.
  net::asio::ssl::context* get(std::size_t endpoint) const { return contexts_[endpoint].get(); }
  // Sets up the slot of an endpoint before the pool publishes it. Throws on a bad CA file.
  void add(std::size_t endpoint, const config::EndpointConfig& ep);

 private:
  std::array<std::unique_ptr<net::asio::ssl::context>, 1024> contexts_;
};

}  // namespace olla::proxy
