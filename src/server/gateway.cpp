#include "olla/server/gateway.hpp"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <cstring>
#include <thread>
#include <utility>

#include "../pool/health_checker.hpp"
#include "session.hpp"

namespace olla::server {

using namespace net;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// The worker with the fewest client connections, this one on a tie. SO_REUSEPORT spreads
// connections over the acceptors by a hash of their addresses, which can leave one thread with
// six of eight busy keep-alive connections; a connection accepted here is served where there are
// fewest.
Worker& least_busy(const std::vector<std::unique_ptr<Worker>>& workers, Worker& self) {
  Worker* best = &self;
  for (const auto& w : workers) {
    if (w->clients.load(std::memory_order_relaxed) < best->clients.load(std::memory_order_relaxed))
      best = w.get();
  }
  return *best;
}

// A socket on its way to another worker's io_context: closed if it never gets there (shutdown).
struct HandedOver {
  tcp::endpoint peer;
  socket_t::native_handle_type fd;
  HandedOver(tcp::endpoint p, socket_t::native_handle_type f) : peer(p), fd(f) {}
  HandedOver(HandedOver&& o) noexcept : peer(o.peer), fd(std::exchange(o.fd, -1)) {}
  HandedOver(const HandedOver&) = delete;
  ~HandedOver() {
    if (fd >= 0) ::close(fd);
  }
};

void serve_on(Worker& target, socket_t socket, const tcp::endpoint& peer, Shared& shared) {
  target.clients.fetch_add(1, std::memory_order_relaxed);
  if (socket.get_executor() == target.ioc.get_executor()) {
    asio::co_spawn(target.ioc, run_session(std::move(socket), peer, target, shared),
                   asio::detached);
    return;
  }
  error_code ec;
  HandedOver handed(peer, socket.release(ec));
  if (ec) {
    target.clients.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  asio::post(target.ioc, [&target, &shared, h = std::move(handed)]() mutable {
    error_code aec;
    socket_t s(target.ioc);
    s.assign(h.peer.protocol(), std::exchange(h.fd, -1), aec);
    if (aec) {
      target.clients.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    asio::co_spawn(target.ioc, run_session(std::move(s), h.peer, target, shared), asio::detached);
  });
}

task<void> accept_loop(acceptor_t& acceptor, Worker& worker,
                       const std::vector<std::unique_ptr<Worker>>& workers, Shared& shared) {
  timer_t backoff(acceptor.get_executor());
  tcp::endpoint peer;  // filled by the accept itself (no getpeername per connection)
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(peer, use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of descriptors or similar: pause instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    const auto cap = shared.cfg.server.max_connections;
    if (cap && shared.connections.load(std::memory_order_relaxed) >= cap) {
      asio::co_spawn(worker.ioc, shed_connection(std::move(socket), shared), asio::detached);
      continue;
    }
    serve_on(least_busy(workers, worker), std::move(socket), peer, shared);
  }
}

observe::AccessPolicy make_access_policy(const config::ServerConfig& s) {
  auto parsed = observe::AccessPolicy::parse(s.internal_allow_cidrs, s.internal_token);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    throw std::runtime_error("server.internal_access: " + *error);
  }
  return std::get<observe::AccessPolicy>(std::move(parsed));
}

// The CPUs this process may run on (its affinity mask: a container's cpuset, taskset), in order.
std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) out.push_back(c);
    }
  }
  if (out.empty()) {
    for (unsigned c = 0; c < std::max(1u, std::thread::hardware_concurrency()); ++c) {
      out.push_back(static_cast<int>(c));
    }
  }
  return out;
}

void pin_to_cpu(std::thread& t, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (const int rc = pthread_setaffinity_np(t.native_handle(), sizeof set, &set); rc != 0) {
    spdlog::warn("cannot keep a worker on CPU {}: {}", cpu, std::strerror(rc));
  }
}

tcp::endpoint listen_endpoint(const config::ServerConfig& s) {
  asio::io_context tmp;
  asio::ip::tcp::resolver resolver(tmp);
  error_code ec;
  auto results = resolver.resolve(s.host, std::to_string(s.port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("server.host: cannot resolve '" + s.host + "': " + ec.message());
  }
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) return r.endpoint();
  }
  return results.begin()->endpoint();
}

// Writes out the log's buffered lines every `period` (a one-thread daemon's log has no thread of
// its own to write them). Ends when `ioc` stops.
task<void> flush_log_every(asio::io_context& ioc, std::chrono::milliseconds period) {
  timer_t tick(ioc.get_executor());
  for (;;) {
    tick.expires_after(period);
    auto [ec] = co_await tick.async_wait(use_tuple);
    if (ec) co_return;
    spdlog::default_logger_raw()->flush();
  }
}

}  // namespace

struct Gateway::Impl {
  explicit Impl(config::Config c)
      : cfg(std::move(c)),
        pool(cfg),
        tls(cfg.discovery.endpoints),
        health(cfg, pool, tls),
        internal_access(make_access_policy(cfg.server)),
        cors(cfg.server.cors),
        rate_limiter(cfg.server.rate_limits),
        shared{cfg, pool, health, tls, metrics, internal_access, cors, rate_limiter} {}

  config::Config cfg;
  pool::EndpointPool pool;
  proxy::TlsContexts tls;
  pool::HealthChecker health;
  observe::Metrics metrics;
  observe::AccessPolicy internal_access;
  proxy::Cors cors;
  limits::RateLimiter rate_limiter;
  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::unique_ptr<acceptor_t>> acceptors;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool running = false;

  task<void> drain(asio::io_context& control);
};

Gateway::Gateway(config::Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Gateway::~Gateway() { stop(); }

int Gateway::worker_count(const config::Config& cfg) {
  if (cfg.server.threads > 0) return cfg.server.threads;
  return static_cast<int>(std::max<std::size_t>(1, allowed_cpus().size()));
}

std::uint16_t Gateway::start() { return launch(false); }

std::uint16_t Gateway::launch(bool caller_runs_worker) {
  auto& im = *impl_;
  const auto cpus = allowed_cpus();
  const int threads = worker_count(im.cfg);
  // One worker per CPU: each keeps to its own (see config.hpp, cpu_affinity).
  const bool pin = im.cfg.server.cpu_affinity == "auto" && threads > 1 &&
                   static_cast<std::size_t>(threads) == cpus.size();
  auto endpoint = listen_endpoint(im.cfg.server);
  for (int t = 0; t < threads; ++t) {
    auto worker = std::make_unique<Worker>(im.pool.size());
    auto acceptor = std::make_unique<acceptor_t>(worker->ioc);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->set_option(reuse_port(true));
    error_code ec;
    acceptor->bind(endpoint, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
    }
    acceptor->listen(asio::socket_base::max_listen_connections);
    endpoint.port(acceptor->local_endpoint().port());  // later acceptors share the chosen port
    im.workers.push_back(std::move(worker));
    im.acceptors.push_back(std::move(acceptor));
  }
  im.port = endpoint.port();
  for (int t = 0; t < threads; ++t) {
    asio::co_spawn(im.workers[t]->ioc,
                   accept_loop(*im.acceptors[t], *im.workers[t], im.workers, im.shared),
                   asio::detached);
  }
  im.health.start(im.workers[0]->ioc);
  im.running = true;
  for (int t = caller_runs_worker ? 1 : 0; t < threads; ++t) {
    im.threads.emplace_back([w = im.workers[t].get()] {
      auto guard = asio::make_work_guard(w->ioc);
      w->ioc.run();
    });
    if (pin) pin_to_cpu(im.threads.back(), cpus[static_cast<std::size_t>(t)]);
  }
  spdlog::info("olla listening on {}:{} with {} thread(s){}, {} endpoint(s)",
               endpoint.address().to_string(), im.port, threads, pin ? " (one per CPU)" : "",
               im.pool.size());
  return im.port;
}

// Stops accepting on every worker and closes their idle keep-alive connections (busy ones close
// after their response), then waits on `control` until no request is in flight or
// server.shutdown_timeout has passed, and stops `control`.
task<void> Gateway::Impl::drain(asio::io_context& control) {
  auto& im = *this;
  for (std::size_t t = 0; t < im.acceptors.size(); ++t) {
    asio::post(im.workers[t]->ioc, [a = im.acceptors[t].get(), w = im.workers[t].get()] {
      error_code ignored;
      a->close(ignored);
      w->stopping = true;
      for (auto& client : w->idle_clients) client.socket->socket().close(ignored);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + im.cfg.server.shutdown_timeout;
  timer_t tick(control.get_executor());
  while (im.shared.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(use_tuple);
  }
  if (im.shared.in_flight.load() > 0) {
    spdlog::warn("shutdown timeout: {} request(s) still in flight are cut",
                 im.shared.in_flight.load());
  }
  control.stop();
}

void Gateway::shutdown() {
  if (!impl_->running) return;
  asio::io_context control;
  asio::co_spawn(control, impl_->drain(control), asio::detached);
  control.run();
  stop();
}

void Gateway::stop() {
  auto& im = *impl_;
  if (!im.running) return;
  im.running = false;
  for (auto& w : im.workers) w->ioc.stop();
  for (auto& t : im.threads) t.join();
  im.threads.clear();
  im.health.stop();  // its timers belong to workers[0]'s io_context, destroyed below
  im.acceptors.clear();
  for (auto& w : im.workers) w->upstreams.clear();
  im.workers.clear();
}

std::string Gateway::reload_endpoints(const std::vector<config::EndpointConfig>& endpoints) {
  auto& im = *impl_;
  const auto result = im.pool.reload(
      endpoints, [&](std::size_t slot, const config::EndpointConfig& ep) { im.tls.add(slot, ep); });
  for (auto slot : result.added) im.health.add(slot);
  std::string summary = "endpoints reloaded: " + std::to_string(result.added.size()) + " added, " +
                        std::to_string(result.retired.size()) + " removed, " +
                        std::to_string(result.kept) + " unchanged";
  for (auto slot : result.added) summary += "; + " + im.pool.at(slot).cfg.name;
  for (auto slot : result.retired) summary += "; - " + im.pool.at(slot).cfg.name;
  return summary;
}

void Gateway::run_until_signal(const std::function<config::Config()>& reload) {
  auto& im = *impl_;
  // A one-worker daemon runs its worker here: a process with a single thread skips the kernel's
  // reference on the descriptor in each system call and glibc's cancellation wrappers.
  const bool here = !im.running && worker_count(im.cfg) == 1;
  if (!im.running) launch(here);
  asio::io_context own;
  asio::io_context& ioc = here ? im.workers[0]->ioc : own;
  if (here) {
    spdlog::default_logger_raw()->flush();  // the listening line, at once
    asio::co_spawn(ioc, flush_log_every(ioc, std::chrono::milliseconds(200)), asio::detached);
  }
  {  // the signal set goes before stop() destroys the worker's io_context it may belong to
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.add(SIGHUP);
    std::function<void(const error_code&, int)> on_signal = [&](const error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        if (!reload) {
          spdlog::warn("SIGHUP: no config source to reload from");
        } else {
          try {
            const auto fresh = reload();
            for (const auto& w : fresh.warnings) spdlog::warn("{}", w);
            spdlog::info("SIGHUP: {}", reload_endpoints(fresh.discovery.endpoints));
          } catch (const std::exception& e) {
            spdlog::error("SIGHUP: reload failed, keeping the current endpoints: {}", e.what());
          }
        }
        signals.async_wait(on_signal);
        return;
      }
      spdlog::info("signal {}: stopping (in-flight requests get up to {})", sig,
                   config::format_duration(im.cfg.server.shutdown_timeout));
      asio::co_spawn(ioc, im.drain(ioc), asio::detached);
    };
    signals.async_wait(on_signal);
    auto guard = asio::make_work_guard(ioc);
    ioc.run();
  }
  stop();
  spdlog::info("olla stopped");
}

std::uint16_t Gateway::port() const { return impl_->port; }
pool::EndpointPool& Gateway::pool() { return impl_->pool; }
const config::Config& Gateway::config() const { return impl_->cfg; }

}  // namespace olla::server
