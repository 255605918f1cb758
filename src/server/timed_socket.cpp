#include "timed_socket.hpp"

namespace olla::net {

TimedSocket::Impl::Impl(socket_t s) : socket(std::move(s)), timer(socket.get_executor()) {}

TimedSocket::TimedSocket(executor_t ex) : impl_(std::make_shared<Impl>(socket_t(ex))) {}

TimedSocket::TimedSocket(socket_t socket) : impl_(std::make_shared<Impl>(std::move(socket))) {}

TimedSocket& TimedSocket::operator=(TimedSocket&& other) noexcept {
  if (this != &other) {
    if (impl_) close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

TimedSocket::~TimedSocket() {
  if (impl_) close();
}

void TimedSocket::close() {
  error_code ignored;
  impl_->socket.close(ignored);
  impl_->deadline = Clock::time_point::max();
  if (impl_->armed) impl_->timer.cancel();
  impl_->armed = false;
}

void TimedSocket::expires_after(Clock::duration d) {
  auto& s = *impl_;
  s.fired = false;
  const auto now = coarse_now();  // a deadline up to a tick early; the timer checks precisely
  s.deadline = d >= Clock::time_point::max() - now ? Clock::time_point::max() : now + d;
  if (s.deadline == Clock::time_point::max()) return;
  if (!s.armed || s.deadline < s.armed_for) arm(impl_);
}

void TimedSocket::expires_never() {
  impl_->fired = false;
  impl_->deadline = Clock::time_point::max();
}

void TimedSocket::arm(const std::shared_ptr<Impl>& impl) {
  impl->armed = true;
  impl->armed_for = impl->deadline;
  impl->timer.expires_at(impl->deadline);  // cancels a wait armed for later
  impl->timer.async_wait([impl](error_code ec) {
    // Cancelled: re-armed for an earlier deadline, or closed. Either way no longer ours.
    if (ec) return;
    impl->armed = false;
    if (impl->deadline == Clock::time_point::max()) return;
    if (Clock::now() < impl->deadline) {
      arm(impl);  // the deadline moved later since this wait was armed
      return;
    }
    impl->fired = true;
    error_code ignored;
    impl->socket.cancel(ignored);
  });
}

}  // namespace olla::net
