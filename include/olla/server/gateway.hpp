#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "olla/config/config.hpp"

namespace olla::pool {
class EndpointPool;
}

namespace olla::server {

// The daemon: listeners (one io_context and SO_REUSEPORT acceptor per thread), sessions, the
// health checker. Beast-free header so tests and main compile quickly.
class Gateway {
 public:
  explicit Gateway(config::Config cfg);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // The number of workers `cfg` asks for (server.threads; 0 = one per CPU this process may use).
  static int worker_count(const config::Config& cfg);

  // Binds and starts the worker threads; returns the bound port (server.port 0 picks one).
  std::uint16_t start();

  // Stop accepting, let in-flight requests finish up to server.shutdown_timeout, stop.
  void shutdown();
  // Stop now.
  void stop();
  // Starts unless started, blocks until SIGINT/SIGTERM, then shuts down gracefully. On SIGHUP,
  // calls `reload` for a fresh config and applies its endpoint list; a config that fails to load
  // changes nothing. With one worker and not started before, the calling thread is the worker and
  // no thread is started (see docs/architecture.md, threads); it also flushes the log every
  // 200 ms (setup_logging without a background thread).
  void run_until_signal(const std::function<config::Config()>& reload = {});

  // Applies a new endpoint list without dropping a connection: unchanged endpoints keep their
  // state, new ones start probing and serving, removed ones take no new requests while their
  // streams finish. Returns a one-line summary; throws std::exception on a bad list.
  std::string reload_endpoints(const std::vector<config::EndpointConfig>& endpoints);

  std::uint16_t port() const;
  pool::EndpointPool& pool();
  const config::Config& config() const;

 private:
  std::uint16_t launch(bool caller_runs_worker);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace olla::server
