#pragma once

#include <chrono>
#include <memory>

#include "net.hpp"

namespace olla::net {

// A TCP socket whose operations have a deadline, like beast::basic_stream's, but with one timer
// per connection armed lazily: beast::basic_stream schedules and cancels a timer around every
// read and write (a timer-queue insert, a removal and a cancelled wait run through the scheduler
// each time). Here expires_after() is a clock read and a store; the timer is armed only when none
// is, or when the deadline moves earlier than it. When it fires before the deadline (the deadline
// moved later, as on every request of a kept-alive connection) it re-arms for the rest.
//
// When the deadline passes, operations pending on the socket are cancelled (they complete with
// operation_aborted, and timed_out() says why), and those started later fail with
// beast::error::timeout until expires_after() sets a new deadline.
class TimedSocket {
 public:
  using Clock = std::chrono::steady_clock;
  using executor_type = executor_t;

  explicit TimedSocket(executor_t ex);
  explicit TimedSocket(socket_t socket);
  TimedSocket(TimedSocket&&) noexcept = default;
  TimedSocket& operator=(TimedSocket&& other) noexcept;
  ~TimedSocket();

  executor_type get_executor() { return impl_->socket.get_executor(); }
  socket_t& socket() { return impl_->socket; }

  void expires_after(Clock::duration d);
  void expires_never();
  // The last deadline passed (reset by expires_after).
  bool timed_out() const { return impl_->fired; }
  // Closes the socket and stops the timer. Safe to call twice.
  void close();

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return start(std::forward<Token>(token), [buffers](socket_t& s, auto handler) {
      s.async_read_some(buffers, std::move(handler));
    });
  }

  // The reactor's last events for the socket (reactor_events in draining_buffer.hpp).
  const unsigned int* reactor_events() { return net::reactor_events(impl_->socket); }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return start(std::forward<Token>(token), [buffers](socket_t& s, auto handler) {
      s.async_write_some(buffers, std::move(handler));
    });
  }

 private:
  struct Impl {
    explicit Impl(socket_t s);
    socket_t socket;
    timer_t timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point armed_for{};  // the timer's expiry while `armed`
    bool armed = false;
    bool fired = false;
  };

  // Starts `op` on the socket, or, past the deadline, completes with beast::error::timeout.
  template <typename Token, typename Op>
  auto start(Token&& token, Op op) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [](auto handler, Impl* impl, Op op) {
          if (impl->fired) {
            asio::post(impl->socket.get_executor(),
                       beast::bind_front_handler(
                           std::move(handler), error_code(beast::error::timeout), std::size_t{0}));
          } else {
            op(impl->socket, std::move(handler));
          }
        },
        token, impl_.get(), std::move(op));
  }
  static void arm(const std::shared_ptr<Impl>& impl);

  // Shared with the armed timer's handler, which may run after the socket is gone.
  std::shared_ptr<Impl> impl_;
};

}  // namespace olla::net
