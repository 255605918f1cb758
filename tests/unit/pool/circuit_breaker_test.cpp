#include "olla/pool/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace olla::pool {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

class Breaker : public ::testing::Test {
 protected:
  CircuitBreaker::Clock::time_point t0 = CircuitBreaker::Clock::now();
  CircuitBreaker b{3, 30s};
};

TEST_F(Breaker, OpensAfterConsecutiveFailuresOnly) {
  EXPECT_FALSE(b.on_failure(t0));
  EXPECT_FALSE(b.on_failure(t0));
  EXPECT_TRUE(b.available(t0));
  EXPECT_TRUE(b.on_failure(t0));
  EXPECT_EQ(b.state(t0), State::open);
  EXPECT_FALSE(b.available(t0 + 29s));
  EXPECT_EQ(b.times_opened(), 1u);
}

TEST_F(Breaker, SuccessResetsTheCount) {
  b.on_failure(t0);
  b.on_failure(t0);
  b.on_success();
  EXPECT_FALSE(b.on_failure(t0));
  EXPECT_FALSE(b.on_failure(t0));
  EXPECT_EQ(b.state(t0), State::closed);
}

TEST_F(Breaker, HalfOpenAdmitsOneTrialThatCloses) {
  for (int i = 0; i < 3; ++i) b.on_failure(t0);
  const auto later = t0 + 30s;
  EXPECT_EQ(b.state(later), State::half_open);
  EXPECT_TRUE(b.available(later));
  b.on_attempt(later);
  EXPECT_FALSE(b.available(later)) << "only one trial at a time";
  b.on_success();
  EXPECT_EQ(b.state(later), State::closed);
  EXPECT_TRUE(b.available(later));
}

TEST_F(Breaker, FailedTrialReopensForAnotherCooldown) {
  for (int i = 0; i < 3; ++i) b.on_failure(t0);
  const auto later = t0 + 31s;
  b.on_attempt(later);
  EXPECT_TRUE(b.on_failure(later));
  EXPECT_EQ(b.state(later + 29s), State::open);
  EXPECT_EQ(b.state(later + 30s), State::half_open);
  EXPECT_EQ(b.times_opened(), 2u);
}

TEST_F(Breaker, AbandonedTrialLetsTheNextRequestTry) {
  for (int i = 0; i < 3; ++i) b.on_failure(t0);
  const auto later = t0 + 30s;
  b.on_attempt(later);
  EXPECT_FALSE(b.available(later));
  b.on_abandoned();  // the trial's client hung up
  EXPECT_TRUE(b.available(later));
  EXPECT_EQ(b.state(later), State::half_open);
}

// The request path's forms read the clock themselves, and only when the breaker is not closed.
TEST_F(Breaker, ClockReadingFormsAgreeWithTheStates) {
  EXPECT_TRUE(b.closed());
  EXPECT_TRUE(b.available());
  b.on_attempt();  // closed: no trial taken
  for (int i = 0; i < 3; ++i) b.on_failure(t0);
  EXPECT_FALSE(b.closed());
  EXPECT_FALSE(b.available()) << "open for 30 s from t0";
  CircuitBreaker past{1, 30s};
  past.on_failure(t0 - 1h);  // its cooldown ended long ago: half-open now
  EXPECT_TRUE(past.available());
  past.on_attempt();  // the trial
  EXPECT_FALSE(past.available()) << "one trial at a time";
  past.on_success();
  EXPECT_TRUE(past.closed());
}

TEST(BreakerNames, ToString) {
  EXPECT_EQ(to_string(State::closed), "closed");
  EXPECT_EQ(to_string(State::open), "open");
  EXPECT_EQ(to_string(State::half_open), "half_open");
}

}  // namespace
}  // namespace olla::pool
