#include "olla/pool/circuit_breaker.hpp"

namespace olla::pool {

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  const auto until = open_until_.load(std::memory_order_acquire);
  if (until == 0) return State::closed;
  return ticks(now) < until ? State::open : State::half_open;
}

bool CircuitBreaker::available(Clock::time_point now) const {
  switch (state(now)) {
    case State::closed:
      return true;
    case State::open:
      return false;
    case State::half_open:
      return !trial_.load(std::memory_order_acquire);
  }
  return true;
}

void CircuitBreaker::on_attempt(Clock::time_point now) {
  if (state(now) == State::half_open) trial_.store(true, std::memory_order_release);
}

void CircuitBreaker::on_success() {
  failures_.store(0, std::memory_order_relaxed);
  if (open_until_.load(std::memory_order_relaxed) != 0)
    open_until_.store(0, std::memory_order_release);
  trial_.store(false, std::memory_order_release);
}

bool CircuitBreaker::on_failure(Clock::time_point now) {
  const auto reopen = [&] {
    open_until_.store(ticks(now + cooldown_), std::memory_order_release);
    trial_.store(false, std::memory_order_release);
    opened_.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  if (state(now) != State::closed) return reopen();  // the trial failed
  if (failures_.fetch_add(1, std::memory_order_relaxed) + 1 >= threshold_) {
    failures_.store(0, std::memory_order_relaxed);
    return reopen();
  }
  return false;
}

std::string_view to_string(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::closed:
      return "closed";
    case CircuitBreaker::State::open:
      return "open";
    case CircuitBreaker::State::half_open:
      return "half_open";
  }
  return "closed";
}

}  // namespace olla::pool
