#pragma once

#include "../proxy/upstream_stream.hpp"
#include "../server/net.hpp"
#include "olla/config/config.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::pool {

// Probes every endpoint on its own schedule and keeps its model list fresh. Runs as coroutines on
// one io_context; results are published through the pool's atomics and registry snapshot.
class HealthChecker {
 public:
  HealthChecker(const config::Config& cfg, EndpointPool& pool, const proxy::TlsContexts& tls)
      : cfg_(cfg), pool_(pool), tls_(tls) {}

  // Spawns the probe and discovery loops; they end when the io_context stops.
  void start(net::asio::io_context& ioc);

  // Asks for a probe of the endpoint now, from any thread (passive health: the request path saw
  // a connection failure).
  void request_probe(std::size_t endpoint);

  // Starts probing an endpoint added by a reload (any thread). Retired endpoints stop by
  // themselves at their next probe.
  void add(std::size_t endpoint);

  // Releases the probe timers. Call after the io_context's thread has stopped and before the
  // io_context is destroyed: a timer must not outlive its io_context's services.
  void stop();

 private:
  // One probe; returns the Retry-After of a rate-limited answer (0 otherwise).
  net::task<config::Duration> probe(std::size_t endpoint);
  net::task<void> discover_models(std::size_t endpoint);
  void watch(std::size_t endpoint);
  net::task<void> probe_loop(std::size_t endpoint);
  net::task<void> discovery_loop(std::size_t endpoint);

  const config::Config& cfg_;
  EndpointPool& pool_;
  const proxy::TlsContexts& tls_;
  net::asio::io_context* ioc_ = nullptr;
  std::vector<std::unique_ptr<net::timer_t>> probe_timers_;
};

}  // namespace olla::pool
