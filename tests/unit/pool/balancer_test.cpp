#include "olla/pool/balancer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace olla::pool {
namespace {

using Endpoints = std::vector<std::unique_ptr<Endpoint>>;
using Indexes = std::vector<std::size_t>;

Endpoints make_endpoints(std::initializer_list<int> priorities) {
  Endpoints eps;
  for (int p : priorities) {
    config::EndpointConfig c;
    c.name = "ep" + std::to_string(eps.size());
    c.priority = p;
    eps.push_back(std::make_unique<Endpoint>(std::move(c)));
    eps.back()->status = EndpointStatus::healthy;
  }
  return eps;
}

Indexes choices(Balancer& b, const Indexes& candidates, const Endpoints& eps, int n) {
  Indexes out;
  for (int i = 0; i < n; ++i) out.push_back(b.choose(candidates, eps));
  return out;
}

TEST(RoundRobin, StableOrder) {
  auto eps = make_endpoints({100, 100, 100});
  RoundRobinBalancer b;
  EXPECT_EQ(choices(b, {0, 1, 2}, eps, 7), (Indexes{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RoundRobin, IgnoresPriorityAndFollowsCandidateOrder) {
  auto eps = make_endpoints({10, 500, 100});
  RoundRobinBalancer b;
  EXPECT_EQ(choices(b, {2, 0}, eps, 4), (Indexes{2, 0, 2, 0}));
}

TEST(RoundRobin, SingleCandidate) {
  auto eps = make_endpoints({100, 100});
  RoundRobinBalancer b;
  EXPECT_EQ(choices(b, {1}, eps, 3), (Indexes{1, 1, 1}));
}

TEST(Priority, HighestTierRotating) {
  auto eps = make_endpoints({100, 200, 200, 50});
  PriorityBalancer b;
  EXPECT_EQ(choices(b, {0, 1, 2, 3}, eps, 6), (Indexes{1, 2, 1, 2, 1, 2}));
}

TEST(Priority, FallsToTheBestRemainingTier) {
  auto eps = make_endpoints({100, 200, 200, 50});
  PriorityBalancer b;
  EXPECT_EQ(choices(b, {0, 3}, eps, 3), (Indexes{0, 0, 0}));
}

TEST(Priority, IgnoresLoad) {
  auto eps = make_endpoints({100, 100});
  eps[0]->in_flight = 50;
  PriorityBalancer b;
  EXPECT_EQ(choices(b, {0, 1}, eps, 4), (Indexes{0, 1, 0, 1}));
}

TEST(LeastConnections, FewestInFlight) {
  auto eps = make_endpoints({100, 100, 100});
  eps[0]->in_flight = 3;
  eps[1]->in_flight = 1;
  eps[2]->in_flight = 2;
  LeastConnectionsBalancer b;
  EXPECT_EQ(choices(b, {0, 1, 2}, eps, 3), (Indexes{1, 1, 1}));
}

TEST(LeastConnections, TiesRotate) {
  auto eps = make_endpoints({100, 100, 100});
  eps[0]->in_flight = 3;
  eps[1]->in_flight = 1;
  eps[2]->in_flight = 1;
  LeastConnectionsBalancer b;
  EXPECT_EQ(choices(b, {0, 1, 2}, eps, 4), (Indexes{1, 2, 1, 2}));
}

TEST(LeastConnections, IdleEndpointsShareSequentialTraffic) {
  auto eps = make_endpoints({100, 100, 100});
  LeastConnectionsBalancer b;
  // Sequential requests: each finishes before the next starts, so all stay at 0 in flight.
  const auto picks = choices(b, {0, 1, 2}, eps, 6);
  EXPECT_EQ(picks, (Indexes{0, 1, 2, 0, 1, 2}));
}

TEST(LeastConnections, ConcurrentRequestsSpread) {
  auto eps = make_endpoints({100, 100, 100});
  LeastConnectionsBalancer b;
  std::set<std::size_t> used;
  for (int i = 0; i < 3; ++i) {
    const auto c = b.choose(Indexes{0, 1, 2}, eps);
    eps[c]->in_flight++;
    used.insert(c);
  }
  EXPECT_EQ(used, (std::set<std::size_t>{0, 1, 2}));
}

TEST(LeastConnections, StaysInTheHighestTier) {
  auto eps = make_endpoints({200, 100, 200});
  eps[0]->in_flight = 5;
  eps[2]->in_flight = 4;
  LeastConnectionsBalancer b;
  EXPECT_EQ(choices(b, {0, 1, 2}, eps, 3), (Indexes{2, 2, 2}));
}

TEST(LeastConnections, LowerTierWhenTheHighIsNotACandidate) {
  auto eps = make_endpoints({200, 100, 100});
  eps[1]->in_flight = 2;
  LeastConnectionsBalancer b;
  EXPECT_EQ(choices(b, {1, 2}, eps, 2), (Indexes{2, 2}));
}

TEST(MakeBalancer, Names) {
  EXPECT_NE(dynamic_cast<RoundRobinBalancer*>(make_balancer("round-robin").get()), nullptr);
  EXPECT_NE(dynamic_cast<PriorityBalancer*>(make_balancer("priority").get()), nullptr);
  EXPECT_NE(dynamic_cast<LeastConnectionsBalancer*>(make_balancer("least-connections").get()),
            nullptr);
}

TEST(MakeBalancer, DefaultIsLeastConnections) {
  EXPECT_NE(dynamic_cast<LeastConnectionsBalancer*>(make_balancer("").get()), nullptr);
}

TEST(EndpointStatusNames, ToString) {
  EXPECT_EQ(to_string(EndpointStatus::unknown), "unknown");
  EXPECT_EQ(to_string(EndpointStatus::healthy), "healthy");
  EXPECT_EQ(to_string(EndpointStatus::unhealthy), "unhealthy");
  EXPECT_EQ(to_string(EndpointStatus::offline), "offline");
  EXPECT_EQ(to_string(EndpointStatus::rate_limited), "rate_limited");
  EXPECT_EQ(to_string(EndpointStatus::config_error), "config_error");
}

TEST(EndpointRoutable, OnlyHealthy) {
  auto eps = make_endpoints({100});
  auto& e = *eps[0];
  for (auto s : {EndpointStatus::unknown, EndpointStatus::unhealthy, EndpointStatus::offline,
                 EndpointStatus::rate_limited, EndpointStatus::config_error}) {
    e.status = s;
    EXPECT_FALSE(e.routable()) << to_string(s);
  }
  e.status = EndpointStatus::healthy;
  EXPECT_TRUE(e.routable());
}

}  // namespace
}  // namespace olla::pool

namespace olla::pool {
namespace {

// Regression: the counters change under the balancer's feet (other worker threads); a choice must
// always be one of the candidates, never a division by an empty tie list.
TEST(LeastConnectionsConcurrent, CountersMovingDuringChoiceNeverBreakIt) {
  std::vector<std::unique_ptr<Endpoint>> eps;
  for (int i = 0; i < 3; ++i) {
    config::EndpointConfig c;
    c.name = "e";
    c.name += std::to_string(i);  // not "e" + ...: GCC 12 warns falsely (-Wrestrict, PR 105329)
    eps.push_back(std::make_unique<Endpoint>(c));
  }
  const std::vector<std::size_t> candidates = {0, 1, 2};
  LeastConnectionsBalancer lb;
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    unsigned x = 1;
    while (!stop.load()) {
      x = x * 1103515245u + 12345u;
      auto& e = *eps[x % 3];
      e.in_flight.fetch_add(1);
      e.in_flight.fetch_sub(1);
    }
  });
  for (int i = 0; i < 200000; ++i) {
    const auto pick = lb.choose(candidates, eps);
    ASSERT_LT(pick, 3u);
  }
  stop = true;
  churn.join();
}

}  // namespace
}  // namespace olla::pool
