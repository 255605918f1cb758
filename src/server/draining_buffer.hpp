#pragma once
// A read buffer whose short reads tell Asio's epoll reactor that the socket is drained.
//
// Asio reads a stream socket speculatively: async_read_some first calls recv, and only when that
// says EAGAIN does it wait for epoll. It stops trying first only after a read returned 0 bytes, so
// a proxy that reads the next request after each answer, and the answer after each upstream write,
// makes two recv calls per request that can only fail (strace: 1.9 EAGAIN per request). nginx
// does not: under edge-triggered epoll a recv that returns fewer bytes than asked has emptied the
// receive queue (a packet that lands during or after it raises a new edge), so it waits for the
// event instead (ngx_unix_recv, `n < size` -> `rev->ready = 0`, with EPOLLRDHUP for a FIN).
//
// Reads given a DrainingBuffer do the same: their operation reports "done and exhausted" when it
// got less than the buffer holds and the kernel says nothing is left to read, and the reactor then
// queues the next read on that socket for the epoll event instead of trying recv first (no
// epoll_ctl either: the descriptor is registered for input already). The event sets the reactor's
// flag back, so the reads after it are speculative again.
//
// "Nothing left" comes from TCP_INQ (Linux 4.18; enable_inq() on each socket): recvmsg then says
// how many bytes remain queued, and reports 1 when a FIN is waiting, whose edge the reactor may
// have taken already (data and FIN in one event). Without that option, or when the option says
// something is left, the read is Asio's. What TCP_INQ cannot say is that a reset came in behind
// the data; its edge may be gone too. The reactor saw it, though: epoll reported EPOLLERR and
// EPOLLHUP with that edge, and Asio keeps the events of the descriptor's last harvest in its
// state. A DrainingBuffer given those events (reactor_events()) is not exhausted by a short read
// when they hold an error or hang-up, so the next read tries recv and gets the reset. A reset
// that comes after the harvest raises an edge of its own.
//
// This is an explicit specialization of one function of Asio's reactive receive operation for this
// buffer type (Boost 1.81's epoll reactor; reactive_socket_recv_op.hpp). It is declared here, next
// to the type, so every use of the type sees it.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactive_socket_recv_op.hpp>
#include <boost/asio/detail/scheduler_operation.hpp>
#include <boost/asio/error.hpp>
#include <boost/version.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace olla::net {

// `b`, to be read from `stream` (TimedSocket, UpstreamStream): with the reactor's last events for
// its socket (reactor_events() below; nullptr over TLS, whose reads never reach this type), so no
// read can be made without them.
struct DrainingBuffer : boost::asio::mutable_buffer {
  template <typename Stream>
  DrainingBuffer(boost::asio::mutable_buffer b, Stream& stream) noexcept
      : boost::asio::mutable_buffer(b), events(stream.reactor_events()) {}
  const unsigned int* events;
};

// The events of the reactor's last harvest for `socket`'s descriptor, or nullptr when Asio has not
// registered it. Asio keeps them in the descriptor's state, as the `task_result_` of the
// operation it derives from (epoll_reactor.hpp: set_ready_events, add_ready_events), and lets no
// one read them: the socket's implementation is a protected member, reached through a pointer to
// member formed in a derived class; the state's operation base is private, reached by a C-style
// cast; `task_result_` is protected, reached like the implementation. Read again for each read
// (a socket registered anew gets a new state). Only the thread running the socket's io_context
// touches it.
template <typename Socket>
const unsigned int* reactor_events(Socket& socket) noexcept {
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  static_assert(BOOST_VERSION == 108100,
                "reactor_events() reads Boost 1.81's epoll reactor: check its members again");
  using boost::asio::detail::scheduler_operation;
  struct SocketDoor : Socket {
    static auto* state(Socket& s) {
      return (s.*(&SocketDoor::impl_)).get_implementation().reactor_data_;
    }
  };
  struct OpDoor : scheduler_operation {
    static unsigned int* result(scheduler_operation* op) { return &(op->*(&OpDoor::task_result_)); }
  };
  auto* state = SocketDoor::state(socket);
  if (state == nullptr) return nullptr;
  return OpDoor::result((scheduler_operation*)state);  // NOLINT: a private base
#else
  (void)socket;
  return nullptr;
#endif
}

// Asks the kernel to say with each recvmsg how many bytes are left (see above). Best effort: a
// socket without it reads the way Asio does.
inline void enable_inq(int fd) noexcept {
#ifdef TCP_INQ
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_INQ, &on, sizeof on);
#endif
}

// One recvmsg into `b`, as socket_ops::non_blocking_recv1 does it: false when it would block,
// else the bytes read (0 with eof at the end of the stream) or the error, and in `drained` whether
// the read left the socket empty: TCP_INQ reported 0 bytes and no FIN.
inline bool receive(int fd, boost::asio::mutable_buffer b, int flags, boost::system::error_code& ec,
                    std::size_t& bytes, bool& drained) noexcept {
  drained = false;
  for (;;) {
    iovec iov{b.data(), b.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const auto n = ::recvmsg(fd, &msg, flags);
    if (n > 0) {
      ec = {};
      bytes = static_cast<std::size_t>(n);
#ifdef TCP_CM_INQ
      for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_TCP && c->cmsg_type == TCP_CM_INQ) {
          int left = 1;
          std::memcpy(&left, CMSG_DATA(c), sizeof left);
          drained = left == 0;
        }
      }
#endif
      return true;
    }
    if (n == 0) {
      ec = boost::asio::error::eof;
      bytes = 0;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    ec = boost::system::error_code(errno, boost::asio::error::get_system_category());
    bytes = 0;
    return true;
  }
}

}  // namespace olla::net

namespace boost::asio::detail {

template <>
inline reactor_op::status reactive_socket_recv_op_base<olla::net::DrainingBuffer>::do_perform(
    reactor_op* base) {
  auto* o = static_cast<reactive_socket_recv_op_base*>(base);
  bool drained = false;
  if (!olla::net::receive(o->socket_, o->buffers_, o->flags_, o->ec_, o->bytes_transferred_,
                          drained)) {
    return not_done;  // EAGAIN: wait for the event
  }
  // Asio's own rule is `bytes_transferred_ == 0` (end of stream, or an error); a short read that
  // left the socket empty is exhausted as well, unless the reactor saw an error or hang-up.
  if (o->bytes_transferred_ == 0) return done_and_exhausted;
  const auto* events = o->buffers_.events;
  const bool calm = events == nullptr || (*events & (EPOLLERR | EPOLLHUP)) == 0;
  return drained && calm && o->bytes_transferred_ < o->buffers_.size() ? done_and_exhausted : done;
}

}  // namespace boost::asio::detail
