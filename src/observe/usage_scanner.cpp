#include "olla/observe/usage_scanner.hpp"

#include <string.h>  // memmem

#include <algorithm>

#include "../json/ondemand.hpp"

namespace olla::observe {
namespace {

constexpr std::string_view kKey = "\"usage\"";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A token count: a non-negative integer (an integral float is tolerated); anything else is absent.
std::optional<std::uint64_t> count_of(simdjson::ondemand::value v) {
  simdjson::ondemand::number n;
  if (v.get_number().get(n)) return std::nullopt;
  switch (n.get_number_type()) {
    case simdjson::ondemand::number_type::unsigned_integer:
      return n.get_uint64();
    case simdjson::ondemand::number_type::signed_integer:
      if (n.get_int64() >= 0) return static_cast<std::uint64_t>(n.get_int64());
      return std::nullopt;
    case simdjson::ondemand::number_type::floating_point_number: {
      const double d = n.get_double();
      if (d >= 0 && d < 1e18 && d == static_cast<double>(static_cast<std::uint64_t>(d)))
        return static_cast<std::uint64_t>(d);
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

void UsageScanner::feed(std::string_view piece) {
  std::size_t i = 0;
  while (i < piece.size()) {
    switch (state_) {
      case State::search:
        i = search(piece, i);
        break;
      case State::after_key:
        while (i < piece.size() && is_space(piece[i])) ++i;
        if (i == piece.size()) break;
        if (piece[i] == ':') {
          state_ = State::after_colon;
          ++i;
        } else {
          state_ = State::search;  // a value "usage", not the key: look again from this byte
        }
        break;
      case State::after_colon:
        while (i < piece.size() && is_space(piece[i])) ++i;
        if (i == piece.size()) break;
        if (piece[i] == '{') {
          state_ = State::capture;
          object_.clear();
          nesting_ = {};
        } else {
          state_ = State::search;  // "usage": null (every chunk but the last, for some providers)
        }
        break;
      case State::capture:
        i = capture(piece, i);
        break;
    }
  }
}

// Looks for `"usage"` from p[i]; a match may have started in an earlier piece (matched_ > 0).
std::size_t UsageScanner::search(std::string_view p, std::size_t i) {
  while (matched_ > 0 && i < p.size()) {
    const char c = p[i++];
    if (c == kKey[matched_]) {
      if (++matched_ == kKey.size()) {
        matched_ = 0;
        state_ = State::after_key;
        return i;
      }
    } else {
      // The key's only repeated byte is the quote, which can start a new match.
      matched_ = c == '"' ? 1 : 0;
    }
  }
  if (i == p.size()) return i;
  // glibc's memmem is vectorised; string_view::find stops at every quote, and JSON is full of them.
  if (const void* hit = ::memmem(p.data() + i, p.size() - i, kKey.data(), kKey.size())) {
    state_ = State::after_key;
    return static_cast<std::size_t>(static_cast<const char*>(hit) - p.data()) + kKey.size();
  }
  // Keep a partial match at the end of the piece: the longest suffix that is a prefix of the key.
  const std::size_t from = p.size() - std::min(p.size() - i, kKey.size() - 1);
  for (std::size_t q = from; q < p.size(); ++q) {
    if (p[q] == '"' && kKey.starts_with(p.substr(q))) {
      matched_ = p.size() - q;
      break;
    }
  }
  return p.size();
}

// Copies the object from p[i] until its closing brace, tracking strings so braces inside them
// do not count.
std::size_t UsageScanner::capture(std::string_view p, std::size_t i) {
  const std::size_t begin = i;
  const std::size_t room = kMaxObjectBytes - object_.size();
  // Scan at most one byte past the room left: enough to know the object is too large.
  const std::size_t end = std::min(p.size(), i + room + 1);
  bool complete = false;
  for (; i < end; ++i) {
    i += nesting_.plain_run(p.data() + i, end - i);
    if (i == end) break;
    if (nesting_.feed(p[i]) == 0) {  // the closing brace of the object
      ++i;
      complete = true;
      break;
    }
  }
  if (i - begin > room) {
    // Too large to be a usage object worth keeping: drop it and look for the next one.
    gave_up_ = true;
    object_.clear();
    state_ = State::search;
    return i;
  }
  object_.append(p.data() + begin, i - begin);
  if (complete) {
    absorb(object_);
    object_.clear();
    state_ = State::search;
  }
  return i;
}

void UsageScanner::absorb(const std::string& object) {
  // The top-level counts of the object (nested "*_details" objects are skipped); a broken object
  // counts for nothing, even in the fields before the break.
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (json::iterate(object).get(doc) || doc.get_object().get(obj)) return;
  std::optional<std::uint64_t> prompt, input, completion, output, total;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return;
    simdjson::ondemand::value v;
    if (field.value().get(v)) return;
    if (key == "prompt_tokens")
      prompt = count_of(v);
    else if (key == "input_tokens")
      input = count_of(v);
    else if (key == "completion_tokens")
      completion = count_of(v);
    else if (key == "output_tokens")
      output = count_of(v);
    else if (key == "total_tokens")
      total = count_of(v);
  }
  if (!prompt) prompt = input;
  if (!completion) completion = output;
  if (!prompt && !completion && !total) return;
  if (prompt) prompt_ = prompt;
  if (completion) completion_ = completion;
  // A total goes with the figures of its own object; else it is recomputed.
  total_ = total;
}

std::optional<Usage> UsageScanner::result() const {
  if (!prompt_ && !completion_ && !total_) return std::nullopt;
  Usage u;
  u.prompt_tokens = prompt_.value_or(0);
  u.completion_tokens = completion_.value_or(0);
  u.total_tokens = total_.value_or(u.prompt_tokens + u.completion_tokens);
  return u;
}

}  // namespace olla::observe
