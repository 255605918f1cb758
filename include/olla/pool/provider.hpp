#pragma once

#include <string>
#include <string_view>

namespace olla::pool {

// The provider of a model, in the order the contract gives: LiteLLM's /model/info provider, else a
// provider prefix ("bedrock/x"), else the name family ("gpt-*" -> openai), else the backend's
// owned_by.
std::string resolve_provider(std::string_view model, std::string_view model_info_provider,
                             std::string_view owned_by);

std::string provider_from_prefix(std::string_view model);  // "" when there is no prefix
std::string provider_from_family(std::string_view model);  // "" when no family matches

}  // namespace olla::pool
