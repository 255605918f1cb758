#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "olla/observe/json_nesting.hpp"

namespace olla::observe {

struct Usage {
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  std::uint64_t total_tokens = 0;
  bool operator==(const Usage&) const = default;
};

// Finds the token usage in a response body as it is relayed, piece by piece, without keeping the
// body. Works alike for a plain JSON answer (chat/completions/embeddings: "usage" at the top level)
// and for an SSE stream (the last `data: {...}` chunk carries it with
// stream_options.include_usage): it looks for the key `"usage"` followed by `:` and `{`, and copies
// only that object, so pieces may be split at any byte. Each complete usage object is parsed once
// (`"usage": null`, sent on every chunk by some providers, costs nothing); a later object's fields
// replace earlier ones, so the final stream chunk or cumulative per-chunk usage wins, and
// Anthropic's split figures (input_tokens in message_start, output_tokens in message_delta) add up.
// Memory is bounded: an object longer than kMaxObjectBytes is given up on.
//
// Limitation: a key whose name ends in an escaped quote followed by `usage` (`"x\"usage": {..}`)
// is mistaken for the usage key; no API produces one.
class UsageScanner {
 public:
  static constexpr std::size_t kMaxObjectBytes = 16 * 1024;

  void feed(std::string_view piece);

  // The figures seen, or nullopt when no usage object with a token count was complete. Null or
  // missing fields count as 0; a missing total is prompt + completion. Anthropic's
  // input_tokens/output_tokens count as prompt/completion.
  std::optional<Usage> result() const;

  // Whether any usage object was abandoned for being too large.
  bool gave_up() const { return gave_up_; }

 private:
  enum class State { search, after_key, after_colon, capture };

  std::size_t search(std::string_view p, std::size_t i);
  std::size_t capture(std::string_view p, std::size_t i);
  // A complete usage object's counts (prompt and completion with Anthropic's names already
  // folded in).
  void take(std::optional<std::uint64_t> prompt, std::optional<std::uint64_t> completion,
            std::optional<std::uint64_t> total);

  State state_ = State::search;
  std::size_t matched_ =
      0;                 // bytes of "usage" (with quotes) matched at the end of the input so far
  JsonNesting nesting_;  // of the object being copied
  bool gave_up_ = false;
  std::string object_;  // the usage object being copied
  std::optional<std::uint64_t> prompt_, completion_, total_;
};

}  // namespace olla::observe
