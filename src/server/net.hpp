#pragma once
// Asio/Beast aliases for the networked parts (never included by Beast-free code).

#include <time.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "draining_buffer.hpp"

namespace olla::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Concrete executor types: cheaper than any_io_executor on the per-request path.
using executor_t = asio::io_context::executor_type;
template <typename T>
using task = asio::awaitable<T, executor_t>;
inline constexpr asio::use_awaitable_t<executor_t> use_aw{};
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor_t>{});
using socket_t = asio::basic_stream_socket<tcp, executor_t>;
using acceptor_t = asio::basic_socket_acceptor<tcp, executor_t>;
using resolver_t = asio::ip::basic_resolver<tcp, executor_t>;
using stream_t = beast::basic_stream<tcp, executor_t>;
using timer_t =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, executor_t>;

// steady_clock's time as of the kernel's last tick (CLOCK_MONOTONIC_COARSE, the same clock up to
// 4 ms behind): for deadlines and idle ages, never for latencies. 8 ns a reading where a precise
// one costs 41 on this VM (four of a proxied request's nine readings are deadlines and ages).
inline std::chrono::steady_clock::time_point coarse_now() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace olla::net
