#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace olla::pool {

// Per-endpoint breaker: consecutive request-path transport failures open it for a cooldown, then
// one trial request decides. Client cancellations and HTTP answers (any status) never count: only
// the caller decides what a failure is. Lock-free; the clock is passed in so tests control it.
class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { closed, open, half_open };

  CircuitBreaker(int failure_threshold = 5,
                 std::chrono::milliseconds cooldown = std::chrono::seconds(30))
      : threshold_(failure_threshold), cooldown_(cooldown) {}

  void configure(int failure_threshold, std::chrono::milliseconds cooldown) {
    threshold_ = failure_threshold;
    cooldown_ = cooldown;
  }

  // May the balancer pick this endpoint? Closed: yes. Open: no. Half-open: only while no trial
  // request is under way.
  bool available(Clock::time_point now) const;

  // Called when a request is sent to the endpoint: in half-open state it becomes the trial.
  void on_attempt(Clock::time_point now);

  // The same two, reading the clock only when the breaker is not closed (the request path's
  // usual case: a clock read per endpoint per request otherwise).
  bool available() const { return closed() || available(Clock::now()); }
  void on_attempt() {
    if (!closed()) on_attempt(Clock::now());
  }
  bool closed() const { return open_until_.load(std::memory_order_acquire) == 0; }

  void on_success();
  // The request ended without telling either way (its client hung up): a trial is released so
  // the next request can be the trial.
  void on_abandoned() { trial_.store(false, std::memory_order_release); }
  // Returns true when this failure opened the breaker.
  bool on_failure(Clock::time_point now);

  State state(Clock::time_point now) const;
  std::uint64_t times_opened() const { return opened_.load(std::memory_order_relaxed); }

 private:
  static std::int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

  int threshold_;
  std::chrono::milliseconds cooldown_;
  std::atomic<int> failures_{0};
  std::atomic<std::int64_t> open_until_{0};  // 0 = closed
  std::atomic<bool> trial_{false};
  std::atomic<std::uint64_t> opened_{0};
};

std::string_view to_string(CircuitBreaker::State s);

}  // namespace olla::pool
