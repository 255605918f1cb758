#include "upstream_stream.hpp"

#include <boost/asio/ip/address.hpp>

namespace olla::proxy {

using namespace net;

namespace {
// Certificate verification results (X509_V_ERR_*), so logs and 502s say what was wrong.
class TlsVerifyCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tls-verify"; }
  std::string message(int ev) const override {
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(ev);
  }
};
}  // namespace

const boost::system::error_category& tls_verify_category() {
  static const TlsVerifyCategory category;
  return category;
}

task<error_code> UpstreamStream::handshake(asio::ssl::context& ctx,
                                           const config::EndpointConfig& ep,
                                           std::chrono::steady_clock::duration timeout) {
  tls_ = std::make_unique<tls_stream_t>(stream_t(std::move(tcp_.socket())), ctx);
  tls_->next_layer().expires_after(timeout);
  error_code ec;
  asio::ip::make_address(ep.host, ec);
  const bool is_ip = !ec;
  if (!is_ip && !SSL_set_tlsext_host_name(tls_->native_handle(), ep.host.c_str())) {
    co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
  }
  if (ep.tls_verify) {
    // OpenSSL checks the name (or IP) itself, so a failure says which check failed.
    X509_VERIFY_PARAM* param = SSL_get0_param(tls_->native_handle());
    const int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
    if (!named) co_return error_code(asio::error::invalid_argument);
    tls_->set_verify_mode(asio::ssl::verify_peer);
  } else {
    tls_->set_verify_mode(asio::ssl::verify_none);
  }
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) {
    const long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify != X509_V_OK) {
      co_return error_code(static_cast<int>(verify), tls_verify_category());
    }
  }
  co_return hec;
}

TlsContexts::TlsContexts(const std::vector<config::EndpointConfig>& endpoints) {
  for (std::size_t i = 0; i < endpoints.size(); ++i) add(i, endpoints[i]);
}

void TlsContexts::add(std::size_t endpoint, const config::EndpointConfig& ep) {
  {
    if (ep.scheme != "https") return;
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    ctx->set_default_verify_paths();
    // An extra CA (a private one, or a test's): added to the system's trust, not replacing it.
    if (!ep.tls_ca_file.empty()) ctx->load_verify_file(ep.tls_ca_file);  // throws on a bad file
    contexts_.at(endpoint) = std::move(ctx);
  }
}

}  // namespace olla::proxy
