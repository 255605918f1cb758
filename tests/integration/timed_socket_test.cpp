// TimedSocket's lazy deadline on a real loopback connection: a pending read is cancelled when its
// deadline passes, a deadline moved later or earlier is the one that counts, and an operation
// started after the deadline fails with beast::error::timeout.
#include "../../src/server/timed_socket.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <optional>

namespace olla::net {
namespace {

using namespace std::chrono_literals;

// A connected pair on 127.0.0.1: `timed` under test, `peer` the other end.
struct Pair {
  asio::io_context ioc;
  TimedSocket timed{ioc.get_executor()};
  socket_t peer{ioc.get_executor()};

  Pair() {
    acceptor_t acceptor(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    timed.socket().connect(acceptor.local_endpoint());
    acceptor.accept(peer);
  }

  // Runs until `done` or 5 s: every test here finishes well within that.
  template <typename Pred>
  void run_until(Pred done) {
    const auto stop = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < stop) {
      ioc.restart();  // it stops whenever it runs out of work
      ioc.run_for(10ms);
    }
  }

  // The peer writes `text` after `delay`.
  void peer_writes_after(std::chrono::milliseconds delay, std::string text) {
    auto t = std::make_shared<timer_t>(ioc.get_executor(), delay);
    t->async_wait(
        [this, t, text = std::move(text)](error_code) { asio::write(peer, asio::buffer(text)); });
  }
};

struct ReadResult {
  error_code ec;
  std::size_t n = 0;
};

void start_read(Pair& p, char (&buf)[16], std::optional<ReadResult>& out) {
  p.timed.async_read_some(asio::buffer(buf), [&out](error_code ec, std::size_t n) {
    out = ReadResult{ec, n};
  });
}

TEST(TimedSocket, ReadStillPendingAtTheDeadlineIsCancelled) {
  Pair p;
  char buf[16];
  std::optional<ReadResult> r;
  p.timed.expires_after(30ms);
  start_read(p, buf, r);
  p.run_until([&] { return r.has_value(); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
  EXPECT_TRUE(p.timed.timed_out());
}

TEST(TimedSocket, DeadlineMovedLaterLetsTheReadFinish) {
  Pair p;
  char buf[16];
  std::optional<ReadResult> r;
  p.timed.expires_after(20ms);  // armed for 20 ms ...
  p.timed.expires_after(3s);    // ... then moved later: the timer re-arms when it fires
  start_read(p, buf, r);
  p.peer_writes_after(200ms, "hello");
  p.run_until([&] { return r.has_value(); });
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ec) << r->ec.message();
  EXPECT_EQ(std::string(buf, r->n), "hello");
  EXPECT_FALSE(p.timed.timed_out());
}

TEST(TimedSocket, DeadlineMovedEarlierIsTheOneThatCounts) {
  Pair p;
  char buf[16];
  std::optional<ReadResult> r;
  p.timed.expires_after(60s);
  p.timed.expires_after(30ms);
  start_read(p, buf, r);
  p.run_until([&] { return r.has_value(); });
  ASSERT_TRUE(r);  // within run_until's 5 s, not 60
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
  EXPECT_TRUE(p.timed.timed_out());
}

TEST(TimedSocket, OperationStartedAfterTheDeadlineFailsWithTimeout) {
  Pair p;
  p.timed.expires_after(1ms);
  p.run_until([&] { return p.timed.timed_out(); });
  ASSERT_TRUE(p.timed.timed_out());
  std::optional<ReadResult> w;
  p.timed.async_write_some(asio::buffer("x", 1), [&w](error_code ec, std::size_t n) {
    w = ReadResult{ec, n};
  });
  p.run_until([&] { return w.has_value(); });
  ASSERT_TRUE(w);
  EXPECT_EQ(w->ec, beast::error::timeout);
  EXPECT_EQ(w->n, 0u);
  // A new deadline clears it.
  p.timed.expires_after(3s);
  EXPECT_FALSE(p.timed.timed_out());
}

TEST(TimedSocket, NoDeadlineAfterExpiresNever) {
  Pair p;
  char buf[16];
  std::optional<ReadResult> r;
  p.timed.expires_after(20ms);
  p.timed.expires_never();
  start_read(p, buf, r);
  p.peer_writes_after(150ms, "late");
  p.run_until([&] { return r.has_value(); });
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ec) << r->ec.message();
  EXPECT_EQ(std::string(buf, r->n), "late");
}

TEST(TimedSocket, ClosedWithATimerArmedLeavesNothingBehind) {
  Pair p;
  p.timed.expires_after(20ms);
  p.timed.close();
  EXPECT_FALSE(p.timed.socket().is_open());
  // The cancelled wait runs and finds nothing to do; the context then has no work left.
  p.ioc.run_for(100ms);
  EXPECT_TRUE(p.ioc.stopped());
  EXPECT_FALSE(p.timed.timed_out());
}

// DrainingBuffer (draining_buffer.hpp): reads that tell the reactor a short read emptied the
// socket, so the next read waits for epoll instead of trying recv first.

// A pair whose socket under test reports what is left with each read (TCP_INQ), and whose peer
// has sent `first` already.
struct InqPair : Pair {
  explicit InqPair(const std::string& first) {
    enable_inq(timed.socket().native_handle());
    asio::write(peer, asio::buffer(first));
  }
};

// Reads into a DrainingBuffer over `buf` (with the reactor's events, as olla reads) until it
// completes or 5 s pass.
std::optional<ReadResult> draining_read(Pair& p, char* buf, std::size_t size) {
  std::optional<ReadResult> out;
  p.timed.async_read_some(DrainingBuffer(asio::buffer(buf, size), p.timed),
                          [&out](error_code ec, std::size_t n) {
                            out = ReadResult{ec, n};
                          });
  p.run_until([&] { return out.has_value(); });
  return out;
}

// Lets the reactor take what edges there are while no read is pending.
void let_the_reactor_harvest(Pair& p) {
  timer_t t(p.ioc.get_executor(), 30ms);
  bool fired = false;
  t.async_wait([&fired](error_code) { fired = true; });
  p.run_until([&] { return fired; });
}

TEST(DrainingBuffer, BytesThatComeAfterAShortReadAreRead) {
  InqPair p("ab");
  char buf[16];
  auto first = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->ec);
  EXPECT_EQ(std::string(buf, first->n), "ab");
  p.peer_writes_after(20ms, "cd");
  auto second = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(second) << "the read after a short one never completed";
  EXPECT_FALSE(second->ec);
  EXPECT_EQ(std::string(buf, second->n), "cd");
}

TEST(DrainingBuffer, AFullBufferLeavesTheRestToRead) {
  InqPair p("0123456789abcdefXYZ");
  char buf[16];
  auto first = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->n, 16u);
  auto second = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(second) << "the bytes left after a full read were never read";
  EXPECT_EQ(std::string(buf, second->n), "XYZ");
}

// The peer's "ab" and what ended its stream, in one event the reactor took before the read: the
// read returns "ab", and the next read `end` at once (no edge comes after the first read).
void expect_the_end_behind_the_data(InqPair& p, error_code end) {
  char buf[16];
  auto first = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(first);
  EXPECT_EQ(std::string(buf, first->n), "ab");
  auto second = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(second) << "what ended the stream behind the data was never read";
  EXPECT_EQ(second->ec, end);
}

// A FIN: TCP_INQ says one waits.
TEST(DrainingBuffer, EndOfStreamBehindTheDataIsRead) {
  InqPair p("ab");
  p.peer.shutdown(tcp::socket::shutdown_send);
  let_the_reactor_harvest(p);
  expect_the_end_behind_the_data(p, asio::error::eof);
}

// A reset: TCP_INQ says nothing is left and no FIN waits; the reactor's events (EPOLLERR,
// EPOLLHUP) keep the read from being the last before an edge.
TEST(DrainingBuffer, ResetBehindTheDataIsRead) {
  InqPair p("ab");
  p.peer.set_option(asio::socket_base::linger(true, 0));
  p.peer.close();  // a reset
  let_the_reactor_harvest(p);
  const auto* events = p.timed.reactor_events();
  ASSERT_NE(events, nullptr);
  EXPECT_NE(*events & EPOLLERR, 0u) << "the reactor's last events: " << *events;
  expect_the_end_behind_the_data(p, asio::error::connection_reset);
}

// The events of a calm socket hold no error: a short read there is the last before an edge.
TEST(DrainingBuffer, ReactorEventsOfACalmSocketHoldNoError) {
  InqPair p("ab");
  let_the_reactor_harvest(p);
  char buf[16];
  auto first = draining_read(p, buf, sizeof buf);
  ASSERT_TRUE(first);
  const auto* events = p.timed.reactor_events();
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(*events & (EPOLLERR | EPOLLHUP), 0u);
  EXPECT_NE(*events & EPOLLIN, 0u);
}

}  // namespace
}  // namespace olla::net
