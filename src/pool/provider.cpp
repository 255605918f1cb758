#include "olla/pool/provider.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace olla::pool {
namespace {

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string provider_from_prefix(std::string_view model) {
  const auto slash = model.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  return std::string(model.substr(0, slash));
}

std::string provider_from_family(std::string_view model) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kFamilies = {{
      {"gpt-", "openai"},       {"text-embedding-", "openai"},
      {"o1", "openai"},         {"o3", "openai"},
      {"o4", "openai"},         {"chatgpt-", "openai"},
      {"dall-e", "openai"},     {"whisper", "openai"},
      {"tts-", "openai"},       {"davinci", "openai"},
      {"babbage", "openai"},    {"claude", "anthropic"},
      {"gemini", "google"},     {"palm", "google"},
      {"chat-bison", "google"}, {"text-bison", "google"},
      {"mistral", "mistral"},   {"mixtral", "mistral"},
      {"codestral", "mistral"}, {"command", "cohere"},
      {"deepseek", "deepseek"}, {"grok", "xai"},
      {"llama", "meta"},        {"qwen", "alibaba"},
  }};
  for (const auto& [prefix, provider] : kFamilies) {
    if (starts_with_icase(model, prefix)) return std::string(provider);
  }
  return {};
}

std::string resolve_provider(std::string_view model, std::string_view model_info_provider,
                             std::string_view owned_by) {
  if (!model_info_provider.empty()) return std::string(model_info_provider);
  if (auto p = provider_from_prefix(model); !p.empty()) return p;
  if (auto p = provider_from_family(model); !p.empty()) return p;
  return std::string(owned_by);
}

}  // namespace olla::pool
