#include "olla/pool/provider.hpp"

#include <gtest/gtest.h>

namespace olla::pool {
namespace {

TEST(ResolveProvider, ModelInfoWinsOverEverything) {
  EXPECT_EQ(resolve_provider("gpt-4", "azure", "openai"), "azure");
  EXPECT_EQ(resolve_provider("bedrock/claude-3-opus", "bedrock_converse", "openai"),
            "bedrock_converse");
  EXPECT_EQ(resolve_provider("my-deployment", "vertex_ai", "custom"), "vertex_ai");
}

TEST(ResolveProvider, PrefixBeatsFamily) {
  EXPECT_EQ(resolve_provider("bedrock/claude-3-opus", "", "openai"), "bedrock");
  EXPECT_EQ(resolve_provider("azure/gpt-4", "", "openai"), "azure");
}

TEST(ResolveProvider, FamilyBeatsOwnedBy) {
  // LiteLLM's /v1/models says owned_by "openai" for everything.
  EXPECT_EQ(resolve_provider("claude-3-opus", "", "openai"), "anthropic");
  EXPECT_EQ(resolve_provider("gemini-pro", "", "openai"), "google");
}

TEST(ResolveProvider, OwnedByIsTheLastResort) {
  EXPECT_EQ(resolve_provider("my-custom-model", "", "acme"), "acme");
  EXPECT_EQ(resolve_provider("my-custom-model", "", ""), "");
}

TEST(ResolveProvider, SeedModels) {
  EXPECT_EQ(resolve_provider("gpt-4", "", "openai"), "openai");
  EXPECT_EQ(resolve_provider("gpt-4-turbo", "", ""), "openai");
  EXPECT_EQ(resolve_provider("gpt-3.5-turbo", "", ""), "openai");
  EXPECT_EQ(resolve_provider("text-embedding-ada-002", "", ""), "openai");
  EXPECT_EQ(resolve_provider("text-embedding-3-small", "", ""), "openai");
  EXPECT_EQ(resolve_provider("claude-3-opus", "", ""), "anthropic");
  EXPECT_EQ(resolve_provider("claude-2.1", "", ""), "anthropic");
  EXPECT_EQ(resolve_provider("claude-instant", "", ""), "anthropic");
  EXPECT_EQ(resolve_provider("gemini-pro", "", ""), "google");
  EXPECT_EQ(resolve_provider("gemini-pro-vision", "", ""), "google");
  EXPECT_EQ(resolve_provider("palm-2", "", ""), "google");
  EXPECT_EQ(resolve_provider("chat-bison", "", ""), "google");
  EXPECT_EQ(resolve_provider("bedrock/claude-3-opus", "", ""), "bedrock");
  EXPECT_EQ(resolve_provider("bedrock/llama2-70b", "", ""), "bedrock");
  EXPECT_EQ(resolve_provider("together_ai/llama-3-70b", "", ""), "together_ai");
  EXPECT_EQ(resolve_provider("together_ai/mixtral-8x7b", "", ""), "together_ai");
}

TEST(ProviderFromPrefix, OnlyTheFirstSegment) {
  EXPECT_EQ(provider_from_prefix("bedrock/claude-3-opus"), "bedrock");
  EXPECT_EQ(provider_from_prefix("openrouter/meta/llama"), "openrouter");
  EXPECT_EQ(provider_from_prefix("gpt-4"), "");
  EXPECT_EQ(provider_from_prefix("/x"), "");
  EXPECT_EQ(provider_from_prefix(""), "");
}

TEST(ProviderFromFamily, Families) {
  EXPECT_EQ(provider_from_family("o1-mini"), "openai");
  EXPECT_EQ(provider_from_family("o1"), "openai");
  EXPECT_EQ(provider_from_family("GPT-4o"), "openai");
  EXPECT_EQ(provider_from_family("Claude-3-Haiku"), "anthropic");
  EXPECT_EQ(provider_from_family("mistral-large"), "mistral");
  EXPECT_EQ(provider_from_family("command-r"), "cohere");
  EXPECT_EQ(provider_from_family("unknown-model"), "");
  EXPECT_EQ(provider_from_family(""), "");
  EXPECT_EQ(provider_from_family("gpt"), "");  // the family is "gpt-"
}

}  // namespace
}  // namespace olla::pool
