#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <chrono>

#include "../pool/health_checker.hpp"
#include "../proxy/upstream_pool.hpp"
#include "net.hpp"
#include "olla/config/config.hpp"
#include "olla/limits/rate_limiter.hpp"
#include "olla/observe/access_policy.hpp"
#include "olla/observe/metrics.hpp"
#include "olla/pool/endpoint_pool.hpp"
#include "olla/proxy/cors.hpp"
#include "timed_socket.hpp"

namespace olla::server {

// State every worker thread reads.
struct Shared {
  const config::Config& cfg;
  pool::EndpointPool& pool;
  pool::HealthChecker& health;
  const proxy::TlsContexts& tls;
  observe::Metrics& metrics;
  const observe::AccessPolicy& internal_access;
  const proxy::Cors& cors;
  limits::RateLimiter& rate_limiter;
  std::atomic<std::size_t> connections{0};  // client connections open now
  std::atomic<int> in_flight{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// A client connection waiting for its next request (unlinks itself when destroyed).
struct IdleClient
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  net::TimedSocket* socket = nullptr;
};
using IdleClients = boost::intrusive::list<IdleClient, boost::intrusive::constant_time_size<false>>;

// An exchange whose client socket is to be watched for a hang-up once it has waited on its
// upstream for a tick (session.cpp's HangupWatch): most answers come sooner, and need no watch.
struct WatchSoon
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
  virtual ~WatchSoon() = default;
  virtual void start_watch() = 0;
  std::uint64_t tick = 0;  // the worker's watch_tick when it was queued
};
using WatchQueue = boost::intrusive::list<WatchSoon, boost::intrusive::constant_time_size<false>>;

// One thread's world: its io_context and its own upstream connections.
struct Worker {
  explicit Worker(std::size_t endpoints) : upstreams(endpoints) {}
  // One thread runs it and only that thread touches its sockets (other threads post to it), so
  // Asio may skip its per-socket locks; posting and timers stay locked.
  net::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  proxy::UpstreamPool upstreams;
  // Connections waiting for their next request, closed at once on shutdown; and whether the
  // worker is shutting down (responses then close their connection). Worker thread only.
  IdleClients idle_clients;
  bool stopping = false;
  // Watches to start at the next ticks, oldest first; the ticker runs only while there are some.
  WatchQueue watch_soon;
  std::uint64_t watch_tick = 0;
  net::timer_t watch_ticker{ioc};
  bool ticker_running = false;
  // Client connections this worker serves. The acceptor counts one in when it hands the
  // connection over (so that accepts on other threads see it at once); run_session counts it out.
  std::atomic<std::size_t> clients{0};
};

// Serves one client connection, from `peer` (as accept reported it), until it closes or errs;
// then counts it out of worker.clients.
net::task<void> run_session(net::socket_t socket, net::tcp::endpoint peer, Worker& worker,
                            Shared& shared);

// Answers a connection over server.max_connections with a 503 and closes it.
net::task<void> shed_connection(net::socket_t socket, Shared& shared);

}  // namespace olla::server
