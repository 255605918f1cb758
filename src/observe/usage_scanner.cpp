#include "olla/observe/usage_scanner.hpp"

#include <emmintrin.h>  // SSE2, part of x86-64

#include <algorithm>
#include <charconv>
#include <cstring>

namespace olla::observe {
namespace {

constexpr std::string_view kKey = "\"usage\"";

// The first byte in [p, e) that is a quote, a backslash or a control character, or e. 16 bytes
// a step (SSE2, part of x86-64).
const char* string_stop(const char* p, const char* e) {
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20), minus_one = _mm_set1_epi8(-1);
  while (e - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ctl = _mm_and_si128(_mm_cmpgt_epi8(v, minus_one), _mm_cmplt_epi8(v, space));
    const __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), ctl);
    if (const int m = _mm_movemask_epi8(stop)) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
  while (p < e && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
  return p;
}

// Where the string opening at p (a quote) ends, past its closing quote; nullptr if it does not
// end before e or holds a control character.
const char* string_end(const char* p, const char* e) {
  for (++p;;) {
    p = string_stop(p, e);
    if (p == e) return nullptr;
    if (*p == '"') return p + 1;
    if (*p != '\\' || e - p < 2) return nullptr;
    p += 2;
  }
}

// Where the value starting at p ends: a string, an object or array (brackets inside strings not
// counting), or a number or literal (its run of bytes, checked by whoever reads it); nullptr if
// it does not end before e.
const char* value_end(const char* p, const char* e) {
  if (*p == '"') return string_end(p, e);
  if (*p == '{' || *p == '[') {
    JsonNesting n;
    for (; p < e; ++p) {
      p += n.plain_run(p, static_cast<std::size_t>(e - p));
      if (p < e && n.feed(*p) == 0) return p + 1;
    }
    return nullptr;
  }
  const char* q = p;
  while (q < e && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
                   (*q >= 'A' && *q <= 'Z') || *q == '-' || *q == '+' || *q == '.')) {
    ++q;
  }
  return q > p && q < e ? q : nullptr;  // a number runs to what follows it
}

// A token count: a non-negative integer (an integral float is tolerated); anything else (null,
// a string, a negative or fractional number) is absent.
std::optional<std::uint64_t> count_of(std::string_view v) {
  if (v.empty() || v[0] == '-') return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc() && end == v.data() + v.size()) return n;
  if (v.find_first_of(".eE") == std::string_view::npos) return std::nullopt;  // not a number
  double d = 0;
  const auto [dend, dec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (dec != std::errc() || dend != v.data() + v.size()) return std::nullopt;
  if (d >= 0 && d < 1e18 && d == static_cast<double>(static_cast<std::uint64_t>(d)))
    return static_cast<std::uint64_t>(d);
  return std::nullopt;
}

// The counts of one usage object; Anthropic's names stand in for OpenAI's.
struct Counts {
  std::optional<std::uint64_t> prompt, completion, total;
};

// Parses the usage object starting at p (its '{'), a small flat object: its top-level members,
// values skipped unless they are counts (nested "*_details" objects among them). Returns the end
// of the object (past its '}') and its counts, or nullptr when it is not one well-formed object
// ending before e (a broken object counts for nothing, even in the members before the break). A
// key with escapes is compared as written (no usage key has one). Not simdjson: a document costs
// it some seven hundred instructions of set-up, per response, for sixty bytes.
const char* parse_object(const char* p, const char* e, Counts& out) {
  std::optional<std::uint64_t> prompt, input, completion, output, total;
  const auto space = [&] {
    while (p < e && is_json_space(*p)) ++p;
  };
  ++p;  // '{'
  space();
  bool first = true;
  for (;;) {
    if (p == e) return nullptr;
    if (*p == '}' && first) break;
    first = false;
    if (*p != '"') return nullptr;
    const char* const key_end = string_end(p, e);
    if (!key_end) return nullptr;
    const std::string_view key(p + 1, static_cast<std::size_t>(key_end - p - 2));
    p = key_end;
    space();
    if (p == e || *p++ != ':') return nullptr;
    space();
    if (p == e) return nullptr;
    const char* const v_end = value_end(p, e);
    if (!v_end) return nullptr;
    const std::string_view v(p, static_cast<std::size_t>(v_end - p));
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
    p = v_end;
    space();
    if (p == e) return nullptr;
    if (*p == '}') break;
    if (*p++ != ',') return nullptr;
    space();
  }
  out = {prompt ? prompt : input, completion ? completion : output, total};
  return p + 1;
}

// The first `"usage"` wholly in [p, e), or nullptr. 16 positions a step: a quote followed by a
// 'u' (SSE2), then the rest compared. The last step of a range of 17 bytes or more ends at its
// end, overlapping the one before (a piece's tail costs one step, not a byte at a time).
const char* find_key(const char* p, const char* e) {
  const __m128i quote = _mm_set1_epi8('"'), u = _mm_set1_epi8('u');
  const auto step = [&](const char* at) -> const char* {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 1));
    auto m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, quote), _mm_cmpeq_epi8(b, u))));
    for (; m; m &= m - 1) {
      const char* c = at + __builtin_ctz(m);
      if (e - c >= static_cast<std::ptrdiff_t>(kKey.size()) &&
          std::memcmp(c, kKey.data(), kKey.size()) == 0) {
        return c;
      }
    }
    return nullptr;
  };
  if (e - p >= 17) {
    for (; e - p >= 17; p += 16) {
      if (const char* c = step(p)) return c;
    }
    // The positions left are within the last 17 bytes: one step over [e - 17, e - 1) sees each
    // of them (those seen already hold no key), and a key must end by e.
    return p < e - 1 ? step(e - 17) : nullptr;
  }
  for (; e - p >= static_cast<std::ptrdiff_t>(kKey.size()); ++p) {
    if (*p == '"' && std::memcmp(p, kKey.data(), kKey.size()) == 0) return p;
  }
  return nullptr;
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
        while (i < piece.size() && is_json_space(piece[i])) ++i;
        if (i == piece.size()) break;
        if (piece[i] == ':') {
          state_ = State::after_colon;
          ++i;
        } else {
          state_ = State::search;  // a value "usage", not the key: look again from this byte
        }
        break;
      case State::after_colon:
        while (i < piece.size() && is_json_space(piece[i])) ++i;
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
  if (const char* hit = find_key(p.data() + i, p.data() + p.size())) {
    state_ = State::after_key;
    return static_cast<std::size_t>(hit - p.data()) + kKey.size();
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

// Takes the object from p[i] (its '{' when object_ is empty). The usual case, a whole object in
// this piece, is parsed where it is; otherwise the object is copied until its closing brace
// (tracking strings so braces inside them do not count), across pieces, and parsed whole.
std::size_t UsageScanner::capture(std::string_view p, std::size_t i) {
  if (object_.empty()) {
    const char* const b = p.data() + i;
    Counts c;
    if (const char* end = parse_object(b, b + std::min(p.size() - i, kMaxObjectBytes + 1), c)) {
      if (static_cast<std::size_t>(end - b) <= kMaxObjectBytes) {
        take(c.prompt, c.completion, c.total);
        state_ = State::search;
        return static_cast<std::size_t>(end - p.data());
      }
    }
  }
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
    // Broken, or not complete past a piece's end: JsonNesting found where it ends.
    Counts c;
    const char* const b = object_.data();
    if (parse_object(b, b + object_.size(), c) == b + object_.size()) {
      take(c.prompt, c.completion, c.total);
    }
    object_.clear();
    state_ = State::search;
  }
  return i;
}

void UsageScanner::take(std::optional<std::uint64_t> prompt,
                        std::optional<std::uint64_t> completion,
                        std::optional<std::uint64_t> total) {
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
