#include "olla/pool/endpoint_pool.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace olla::pool {
namespace {

using Indexes = std::vector<std::size_t>;

config::Config make_config(std::size_t n, const std::string& strategy = "optimistic",
                           const std::string& balancer = "round-robin") {
  config::Config cfg;
  cfg.proxy.load_balancer = balancer;
  cfg.model_registry.routing_strategy = strategy;
  for (std::size_t i = 0; i < n; ++i) {
    config::EndpointConfig ep;
    ep.name = "litellm-" + std::to_string(i);
    ep.url = "http://127.0.0.1:" + std::to_string(4000 + i);
    ep.scheme = "http";
    ep.host = "127.0.0.1";
    ep.port = static_cast<std::uint16_t>(4000 + i);
    cfg.discovery.endpoints.push_back(ep);
  }
  return cfg;
}

ModelInfo model(const char* id, const char* provider = "") { return {id, provider, 0}; }

// Three endpoints: 0 serves gpt-4, 1 serves claude-3-opus and gpt-4, 2 serves gemini-pro.
class EndpointPoolTest : public ::testing::Test {
 protected:
  explicit EndpointPoolTest(const std::string& strategy = "optimistic")
      : pool_(make_config(3, strategy)) {
    pool_.models().set_models(0, {model("gpt-4", "openai")});
    pool_.models().set_models(1, {model("claude-3-opus", "anthropic"), model("gpt-4", "openai")});
    pool_.models().set_models(2, {model("gemini-pro", "google")});
    set_status({EndpointStatus::healthy, EndpointStatus::healthy, EndpointStatus::healthy});
  }

  void set_status(std::initializer_list<EndpointStatus> statuses) {
    std::size_t i = 0;
    for (auto s : statuses) pool_.at(i++).status = s;
  }

  // The endpoints chosen over n selections (each must succeed).
  Indexes picks(std::string_view model, int n, Indexes exclude = {}) {
    Indexes out;
    for (int i = 0; i < n; ++i) {
      const Selection s = pool_.select(model, exclude);
      EXPECT_TRUE(s.ok()) << model << ": " << s.status << ' ' << s.message;
      if (!s.ok()) break;
      out.push_back(static_cast<std::size_t>(s.index));
    }
    return out;
  }

  EndpointPool pool_;
};

class StrictPoolTest : public EndpointPoolTest {
 protected:
  StrictPoolTest() : EndpointPoolTest("strict") {}
};

TEST_F(EndpointPoolTest, EndpointsComeFromTheConfig) {
  ASSERT_EQ(pool_.size(), 3u);
  EXPECT_EQ(pool_.at(0).cfg.name, "litellm-0");
  EXPECT_EQ(pool_.at(2).cfg.port, 4002);
  EXPECT_EQ(pool_.at(1).in_flight.load(), 0);
}

TEST(EndpointPool, StartsUnknownAndUnroutable) {
  EndpointPool pool(make_config(2));
  EXPECT_EQ(pool.at(0).status.load(), EndpointStatus::unknown);
  EXPECT_EQ(pool.routable_count(), 0u);
  const Selection s = pool.select("");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status, 503);
  EXPECT_EQ(s.error_type, "no_healthy_endpoints");
}

TEST(EndpointPool, NoEndpointsAtAll) {
  EndpointPool pool(make_config(0));
  const Selection s = pool.select("gpt-4");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status, 503);
}

TEST_F(EndpointPoolTest, ModelOnlyOnOneEndpointGoesThere) {
  EXPECT_EQ(picks("claude-3-opus", 5), (Indexes{1, 1, 1, 1, 1}));
  EXPECT_EQ(picks("gemini-pro", 3), (Indexes{2, 2, 2}));
}

TEST_F(EndpointPoolTest, ModelOnTwoEndpointsRotatesBetweenThem) {
  const auto p = picks("gpt-4", 6);
  EXPECT_EQ(std::set<std::size_t>(p.begin(), p.end()), (std::set<std::size_t>{0, 1}));
  for (std::size_t i = 1; i < p.size(); ++i) EXPECT_NE(p[i], p[i - 1]) << i;
}

TEST_F(EndpointPoolTest, UnknownModelOptimisticGoesToAnyRoutable) {
  set_status({EndpointStatus::healthy, EndpointStatus::offline, EndpointStatus::healthy});
  const auto p = picks("my-wildcard/model", 6);
  EXPECT_EQ(std::set<std::size_t>(p.begin(), p.end()), (std::set<std::size_t>{0, 2}));
}

TEST_F(EndpointPoolTest, NoModelGoesToAnyRoutable) {
  const auto p = picks("", 6);
  EXPECT_EQ(std::set<std::size_t>(p.begin(), p.end()), (std::set<std::size_t>{0, 1, 2}));
}

TEST_F(StrictPoolTest, UnknownModelIsNotFound) {
  const Selection s = pool_.select("my-wildcard/model");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.index, -1);
  EXPECT_EQ(s.status, 404);
  EXPECT_EQ(s.error_type, "model_not_found");
  EXPECT_NE(s.message.find("my-wildcard/model"), std::string::npos) << s.message;
}

TEST_F(StrictPoolTest, KnownModelIsStillRouted) {
  EXPECT_EQ(picks("claude-3-opus", 2), (Indexes{1, 1}));
}

TEST_F(StrictPoolTest, NoModelIsStillRouted) { EXPECT_EQ(picks("", 1).size(), 1u); }

TEST_F(StrictPoolTest, UnknownModelWithNothingHealthyIsStill404) {
  set_status({EndpointStatus::offline, EndpointStatus::offline, EndpointStatus::offline});
  EXPECT_EQ(pool_.select("nope").status, 404);
}

TEST_F(EndpointPoolTest, ModelOnlyOnUnhealthyEndpointsIs503) {
  set_status({EndpointStatus::healthy, EndpointStatus::unhealthy, EndpointStatus::healthy});
  const Selection s = pool_.select("claude-3-opus");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status, 503);
  EXPECT_EQ(s.error_type, "no_healthy_endpoints");
  EXPECT_NE(s.message.find("claude-3-opus"), std::string::npos) << s.message;
}

TEST(EndpointPool, ModelOnUnhealthyEndpointsIs503EvenWhenStrict) {
  EndpointPool strict(make_config(2, "strict"));
  strict.models().set_models(0, {model("gpt-4")});
  strict.at(0).status = EndpointStatus::rate_limited;
  strict.at(1).status = EndpointStatus::healthy;
  const Selection s = strict.select("gpt-4");
  EXPECT_EQ(s.status, 503);
  EXPECT_EQ(s.error_type, "no_healthy_endpoints");
}

TEST_F(EndpointPoolTest, HealthyEndpointWithoutTheModelIsNotUsedForAKnownModel) {
  set_status({EndpointStatus::offline, EndpointStatus::config_error, EndpointStatus::healthy});
  // gpt-4 is known on 0 and 1 only; endpoint 2 is healthy but does not list it.
  EXPECT_EQ(pool_.select("gpt-4").status, 503);
}

TEST_F(EndpointPoolTest, NoneHealthyIs503) {
  set_status({EndpointStatus::offline, EndpointStatus::unhealthy, EndpointStatus::unknown});
  for (const char* m : {"", "gpt-4", "unknown-model"}) {
    const Selection s = pool_.select(m);
    EXPECT_FALSE(s.ok()) << m;
    EXPECT_EQ(s.status, 503) << m;
    EXPECT_EQ(s.error_type, "no_healthy_endpoints") << m;
    EXPECT_FALSE(s.message.empty()) << m;
  }
}

TEST_F(EndpointPoolTest, ExcludeListIsHonoured) {
  EXPECT_EQ(picks("gpt-4", 4, {0}), (Indexes{1, 1, 1, 1}));
  EXPECT_EQ(picks("gpt-4", 4, {1}), (Indexes{0, 0, 0, 0}));
  EXPECT_EQ(picks("", 3, {0, 2}), (Indexes{1, 1, 1}));
  EXPECT_EQ(picks("unknown-model", 3, {1, 2}), (Indexes{0, 0, 0}));
}

TEST_F(EndpointPoolTest, EverythingExcludedIs503) {
  const Indexes all{0, 1};
  const Selection s = pool_.select("gpt-4", all);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status, 503);
  const Indexes every{0, 1, 2};
  EXPECT_EQ(pool_.select("", every).status, 503);
}

TEST_F(EndpointPoolTest, StatusChangesTakeEffectImmediately) {
  EXPECT_EQ(picks("claude-3-opus", 1), (Indexes{1}));
  pool_.at(1).status = EndpointStatus::offline;
  EXPECT_EQ(pool_.select("claude-3-opus").status, 503);
  pool_.at(1).status = EndpointStatus::healthy;
  EXPECT_EQ(picks("claude-3-opus", 1), (Indexes{1}));
}

TEST_F(EndpointPoolTest, NewModelListsTakeEffectImmediately) {
  EXPECT_EQ(picks("gemini-pro", 1), (Indexes{2}));
  pool_.models().set_models(0, {model("gemini-pro", "google")});
  pool_.models().set_models(2, {});
  EXPECT_EQ(picks("gemini-pro", 2), (Indexes{0, 0}));
}

TEST_F(EndpointPoolTest, RoutableMaskAndCount) {
  set_status({EndpointStatus::healthy, EndpointStatus::rate_limited, EndpointStatus::healthy});
  EXPECT_EQ(pool_.routable_mask(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(pool_.routable_count(), 2u);
  set_status({EndpointStatus::unknown, EndpointStatus::rate_limited, EndpointStatus::offline});
  EXPECT_EQ(pool_.routable_mask(), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(pool_.routable_count(), 0u);
}

TEST(EndpointPool, BalancerComesFromTheConfig) {
  // priority: the higher tier takes everything while it is a candidate.
  auto cfg = make_config(2, "optimistic", "priority");
  cfg.discovery.endpoints[1].priority = 500;
  EndpointPool pool(cfg);
  pool.at(0).status = EndpointStatus::healthy;
  pool.at(1).status = EndpointStatus::healthy;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pool.select("").index, 1);
  const Indexes skip_best{1};
  EXPECT_EQ(pool.select("", skip_best).index, 0);
}

TEST(EndpointPool, LeastConnectionsPrefersTheIdleEndpoint) {
  EndpointPool pool(make_config(2, "optimistic", "least-connections"));
  pool.at(0).status = EndpointStatus::healthy;
  pool.at(1).status = EndpointStatus::healthy;
  pool.at(0).in_flight = 4;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.select("").index, 1);
}

}  // namespace
}  // namespace olla::pool
