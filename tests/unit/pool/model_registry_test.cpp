#include "olla/pool/model_registry.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace olla::pool {
namespace {

using Ids = std::vector<std::string>;
using Indexes = std::vector<std::size_t>;

std::vector<ModelInfo> models(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<ModelInfo> out;
  std::int64_t created = 1700000000;
  for (const auto& [id, provider] : list) out.push_back({id, provider, created++});
  return out;
}

Ids ids(const std::vector<ModelInfo>& list) {
  Ids out;
  for (const auto& m : list) out.push_back(m.id);
  return out;
}

TEST(ModelRegistry, StartsEmpty) {
  ModelRegistry r(3);
  const auto snap = r.snapshot();
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->per_endpoint.size(), 3u);
  EXPECT_TRUE(snap->endpoints_by_model.empty());
  EXPECT_TRUE(r.union_models({true, true, true}).empty());
  EXPECT_EQ(r.provider_of("gpt-4"), "");
}

TEST(ModelRegistry, UnionDeDuplicatesByIdInDiscoveryOrder) {
  ModelRegistry r(3);
  r.set_models(0, models({{"gpt-4", "openai"}, {"claude-3-opus", "anthropic"}}));
  r.set_models(1, models({{"claude-3-opus", "anthropic"}, {"gemini-pro", "google"}}));
  r.set_models(2, models({{"together_ai/llama-3-70b", "together_ai"}, {"gpt-4", "openai"}}));
  EXPECT_EQ(ids(r.union_models({true, true, true})),
            (Ids{"gpt-4", "claude-3-opus", "gemini-pro", "together_ai/llama-3-70b"}));
}

TEST(ModelRegistry, UnionKeepsTheFirstEntryOfADuplicate) {
  ModelRegistry r(2);
  r.set_models(0, {{"gpt-4", "openai", 111}});
  r.set_models(1, {{"gpt-4", "azure", 222}});
  const auto u = r.union_models({true, true});
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].provider, "openai");
  EXPECT_EQ(u[0].created, 111);
}

TEST(ModelRegistry, OrderFollowsEndpointsNotSetCalls) {
  ModelRegistry r(2);
  r.set_models(1, models({{"b", ""}}));
  r.set_models(0, models({{"a", ""}}));
  EXPECT_EQ(ids(r.union_models({true, true})), (Ids{"a", "b"}));
}

TEST(ModelRegistry, MaskExcludesEndpoints) {
  ModelRegistry r(3);
  r.set_models(0, models({{"gpt-4", "openai"}}));
  r.set_models(1, models({{"claude-3-opus", "anthropic"}, {"gpt-4", "openai"}}));
  r.set_models(2, models({{"gemini-pro", "google"}}));
  EXPECT_EQ(ids(r.union_models({false, true, false})), (Ids{"claude-3-opus", "gpt-4"}));
  EXPECT_EQ(ids(r.union_models({true, false, true})), (Ids{"gpt-4", "gemini-pro"}));
  EXPECT_TRUE(r.union_models({false, false, false}).empty());
  // A short mask leaves the remaining endpoints out.
  EXPECT_EQ(ids(r.union_models({true})), (Ids{"gpt-4"}));
  EXPECT_TRUE(r.union_models({}).empty());
}

TEST(ModelRegistry, SetModelsReplacesOneEndpointsList) {
  ModelRegistry r(2);
  r.set_models(0, models({{"gpt-4", "openai"}, {"old", ""}}));
  r.set_models(1, models({{"claude-3-opus", "anthropic"}}));
  r.set_models(0, models({{"new", ""}}));
  EXPECT_EQ(ids(r.union_models({true, true})), (Ids{"new", "claude-3-opus"}));
  const auto snap = r.snapshot();
  EXPECT_EQ(snap->endpoints_by_model.count("gpt-4"), 0u);
  EXPECT_EQ(snap->endpoints_by_model.count("old"), 0u);
  EXPECT_EQ(r.provider_of("gpt-4"), "");
}

TEST(ModelRegistry, EndpointsByModel) {
  ModelRegistry r(3);
  r.set_models(2, models({{"gpt-4", "openai"}}));
  r.set_models(0, models({{"gpt-4", "openai"}, {"claude-3-opus", "anthropic"}}));
  const auto snap = r.snapshot();
  EXPECT_EQ(snap->endpoints_by_model.at("gpt-4"), (Indexes{0, 2}));
  EXPECT_EQ(snap->endpoints_by_model.at("claude-3-opus"), (Indexes{0}));
  EXPECT_EQ(snap->endpoints_by_model.count("gemini-pro"), 0u);
}

TEST(ModelRegistry, DuplicateIdOnOneEndpointListsTheEndpointOnce) {
  // A repeated id in one endpoint's list must not give that endpoint a double share of traffic.
  ModelRegistry r(2);
  r.set_models(0, models({{"gpt-4", "openai"}, {"gpt-4", "openai"}}));
  r.set_models(1, models({{"gpt-4", "openai"}}));
  EXPECT_EQ(r.snapshot()->endpoints_by_model.at("gpt-4"), (Indexes{0, 1}));
  EXPECT_EQ(ids(r.union_models({true, true})), (Ids{"gpt-4"}));
}

TEST(ModelRegistry, ProviderOf) {
  ModelRegistry r(2);
  r.set_models(0, models({{"gpt-4", "openai"}, {"bedrock/claude-3-opus", "bedrock"}}));
  r.set_models(1, models({{"gemini-pro", "google"}}));
  EXPECT_EQ(r.provider_of("gpt-4"), "openai");
  EXPECT_EQ(r.provider_of("bedrock/claude-3-opus"), "bedrock");
  EXPECT_EQ(r.provider_of("gemini-pro"), "google");
  EXPECT_EQ(r.provider_of("unknown"), "");
  EXPECT_EQ(r.provider_of(""), "");
}

TEST(ModelRegistry, ProviderOfIsKnownEvenWhenTheEndpointIsMasked) {
  // provider_of does not depend on health; it only needs some endpoint to list the model.
  ModelRegistry r(2);
  r.set_models(1, models({{"claude-3-opus", "anthropic"}}));
  EXPECT_EQ(r.provider_of("claude-3-opus"), "anthropic");
}

TEST(ModelRegistry, OldSnapshotIsImmutable) {
  ModelRegistry r(2);
  r.set_models(0, models({{"gpt-4", "openai"}}));
  const auto before = r.snapshot();
  r.set_models(0, models({{"claude-3-opus", "anthropic"}}));
  r.set_models(1, models({{"gemini-pro", "google"}}));

  ASSERT_EQ(before->per_endpoint.size(), 2u);
  EXPECT_EQ(ids(before->per_endpoint[0]), (Ids{"gpt-4"}));
  EXPECT_TRUE(before->per_endpoint[1].empty());
  EXPECT_EQ(before->endpoints_by_model.size(), 1u);
  EXPECT_EQ(before->endpoints_by_model.at("gpt-4"), (Indexes{0}));
  EXPECT_EQ(before->provider_by_model.at("gpt-4"), "openai");

  const auto after = r.snapshot();
  EXPECT_NE(before.get(), after.get());
  EXPECT_EQ(ids(after->per_endpoint[0]), (Ids{"claude-3-opus"}));
  EXPECT_EQ(ids(after->per_endpoint[1]), (Ids{"gemini-pro"}));
}

TEST(ModelRegistry, SetModelsBeyondTheEndGrows) {
  ModelRegistry r(1);
  r.set_models(2, models({{"x", ""}}));
  EXPECT_EQ(r.snapshot()->per_endpoint.size(), 3u);
  EXPECT_EQ(ids(r.union_models({false, false, true})), (Ids{"x"}));
}

// current(): this thread's kept snapshot, taken again once a newer one is published.
TEST(ModelRegistry, CurrentFollowsEachPublication) {
  ModelRegistry r(2);
  EXPECT_TRUE(r.current().endpoints_by_model.empty());
  r.set_models(0, models({{"gpt-4", "openai"}}));
  EXPECT_EQ(r.current().endpoints_by_model.count("gpt-4"), 1u);
  EXPECT_EQ(&r.current(), r.snapshot().get());  // the published one, not a copy
  r.set_models(1, models({{"gpt-4", "openai"}}));
  EXPECT_EQ(r.current().endpoints_by_model.at("gpt-4"), (Indexes{0, 1}));
  r.set_models(0, {});
  EXPECT_EQ(r.current().endpoints_by_model.at("gpt-4"), (Indexes{1}));
}

// One thread reading two registries (two gateways in one process) never gets one's snapshot for
// the other's, also when both have been published to the same number of times.
TEST(ModelRegistry, CurrentKeepsRegistriesApart) {
  ModelRegistry a(1), b(1);
  a.set_models(0, models({{"only-a", ""}}));
  b.set_models(0, models({{"only-b", ""}}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.current().endpoints_by_model.count("only-a"), 1u);
    EXPECT_EQ(a.current().endpoints_by_model.count("only-b"), 0u);
    EXPECT_EQ(b.current().endpoints_by_model.count("only-b"), 1u);
    EXPECT_EQ(b.current().endpoints_by_model.count("only-a"), 0u);
  }
  // A registry made where a destroyed one was still gets its own snapshot.
  auto c = std::make_unique<ModelRegistry>(1);
  c->set_models(0, models({{"only-c", ""}}));
  EXPECT_EQ(c->current().endpoints_by_model.count("only-c"), 1u);
  c.reset();
  auto d = std::make_unique<ModelRegistry>(1);
  EXPECT_TRUE(d->current().endpoints_by_model.empty());
}

// Another thread's publication reaches this thread's next current().
TEST(ModelRegistry, CurrentSeesAnotherThreadsPublication) {
  ModelRegistry r(1);
  EXPECT_TRUE(r.current().endpoints_by_model.empty());
  std::thread([&] { r.set_models(0, models({{"gpt-4", "openai"}})); }).join();
  EXPECT_EQ(r.current().endpoints_by_model.count("gpt-4"), 1u);
}

// Lookups by string_view, as the request path makes them (no std::string of the model).
TEST(ModelRegistry, LooksUpByStringView) {
  ModelRegistry r(1);
  r.set_models(0, models({{"anthropic/claude-3-5-sonnet-20241022", "anthropic"}}));
  const std::string body = R"({"model":"anthropic/claude-3-5-sonnet-20241022"})";
  const std::string_view model = std::string_view(body).substr(10, 36);
  EXPECT_EQ(r.current().endpoints_by_model.count(model), 1u);
}

}  // namespace
}  // namespace olla::pool
