#include "upstream_stream.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ip/address.hpp>

namespace olla::proxy {

using namespace net;

task<error_code> UpstreamStream::handshake(asio::ssl::context& ctx, const config::EndpointConfig& ep) {
  tls_ = std::make_unique<tls_stream_t>(std::move(*tcp_), ctx);
  tcp_.reset();
  error_code ec;
  asio::ip::make_address(ep.host, ec);
  const bool is_ip = !ec;
  if (!is_ip && !SSL_set_tlsext_host_name(tls_->native_handle(), ep.host.c_str())) {
    co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
  }
  if (ep.tls_verify) {
    tls_->set_verify_mode(asio::ssl::verify_peer);
    tls_->set_verify_callback(asio::ssl::host_name_verification(ep.host));
  } else {
    tls_->set_verify_mode(asio::ssl::verify_none);
  }
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  co_return hec;
}

TlsContexts::TlsContexts(const std::vector<config::EndpointConfig>& endpoints) {
  for (const auto& ep : endpoints) {
    if (ep.scheme != "https") {
      contexts_.emplace_back();
      continue;
    }
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    if (!ep.tls_ca_file.empty()) {
      ctx->load_verify_file(ep.tls_ca_file);  // throws at start-up on a bad file
    } else {
      ctx->set_default_verify_paths();
    }
    contexts_.push_back(std::move(ctx));
  }
}

}  // namespace olla::proxy
