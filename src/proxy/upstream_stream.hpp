#pragma once

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>
#include <vector>

#include "../server/net.hpp"
#include "olla/config/config.hpp"

namespace olla::proxy {

using tls_stream_t = net::beast::ssl_stream<net::stream_t>;

// One upstream connection, plain TCP or TLS behind the same type, so the relay is written once.
// Timeouts live on the TCP layer (beast::basic_stream) in both cases.
class UpstreamStream {
 public:
  using executor_type = net::executor_t;

  explicit UpstreamStream(executor_type ex) : tcp_(std::make_unique<net::stream_t>(ex)) {}

  executor_type get_executor() { return lowest().get_executor(); }
  net::stream_t& lowest() { return tls_ ? tls_->next_layer() : *tcp_; }
  net::socket_t& socket() { return lowest().socket(); }
  void expires_after(std::chrono::steady_clock::duration d) { lowest().expires_after(d); }
  void expires_never() { lowest().expires_never(); }
  void close() { lowest().close(); }
  bool is_tls() const { return tls_ != nullptr; }

  // Puts TLS over the connected TCP stream and handshakes (SNI, certificate and host name checked
  // unless verification is off in the context's endpoint settings).
  net::task<net::error_code> handshake(net::asio::ssl::context& ctx,
                                       const config::EndpointConfig& ep);

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return net::asio::async_initiate<Token, void(net::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            tcp_->async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return net::asio::async_initiate<Token, void(net::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            tcp_->async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  std::unique_ptr<net::stream_t> tcp_;
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
