// SSE frame handling: observe::UsageScanner over a relayed body (an SSE stream or a JSON answer)
// cut into pieces at arbitrary bytes, and observe::stream_error_frame / error_body.
// Input: byte 0 = number of cuts (mod 8), then that many bytes placing the cuts, then the body.
// The pieces must give the same result as the whole body in one piece, and as one byte at a time
// (bodies up to 2 KiB).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "olla/observe/error.hpp"
#include "olla/observe/usage_scanner.hpp"

using olla::observe::UsageScanner;

namespace {

struct Outcome {
  std::optional<olla::observe::Usage> usage;
  bool gave_up;
  bool operator==(const Outcome&) const = default;
};

Outcome scan(std::string_view body, const std::vector<std::size_t>& cuts) {
  UsageScanner s;
  std::size_t at = 0;
  for (auto cut : cuts) {
    s.feed(body.substr(at, cut - at));
    at = cut;
  }
  s.feed(body.substr(at));
  s.feed({});  // an empty piece changes nothing
  return {s.result(), s.gave_up()};
}

void print(const char* what, const Outcome& o) {
  if (o.usage) {
    std::fprintf(stderr, "%s: prompt %llu completion %llu total %llu gave_up %d\n", what,
                 static_cast<unsigned long long>(o.usage->prompt_tokens),
                 static_cast<unsigned long long>(o.usage->completion_tokens),
                 static_cast<unsigned long long>(o.usage->total_tokens), o.gave_up);
  } else {
    std::fprintf(stderr, "%s: no usage, gave_up %d\n", what, o.gave_up);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t ncuts = std::min<std::size_t>(data[0] % 8, size - 1);
  const std::string_view body = olla::fuzz::as_view(data + 1 + ncuts, size - 1 - ncuts);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < ncuts; ++i) {
    // A cut byte b places a cut at b/255 of the body, so cuts reach every part of long bodies.
    cuts.push_back(body.size() * data[1 + i] / 255);
  }
  std::sort(cuts.begin(), cuts.end());

  const Outcome whole = scan(body, {});
  const Outcome pieces = scan(body, cuts);
  // One byte at a time only for bodies up to 2 KiB: longer ones cost more than they find.
  std::vector<std::size_t> every;
  if (body.size() <= 2048) {
    for (std::size_t i = 1; i < body.size(); ++i) every.push_back(i);
  }
  const Outcome bytes = every.empty() ? pieces : scan(body, every);
  if (!(whole == pieces && whole == bytes)) {
    print("whole body", whole);
    print("in pieces", pieces);
    print("byte by byte", bytes);
  }
  FUZZ_CHECK(whole == pieces);
  FUZZ_CHECK(whole == bytes);

  // The frame sent when an upstream dies mid-stream: one SSE event, whatever the message holds.
  const std::string frame = olla::observe::stream_error_frame(body);
  FUZZ_CHECK(frame.rfind("data: ", 0) == 0);
  FUZZ_CHECK(frame.size() >= 8 && frame.compare(frame.size() - 2, 2, "\n\n") == 0);
  const std::string_view payload(frame.data() + 6, frame.size() - 8);
  FUZZ_CHECK(payload.find('\n') == std::string_view::npos);
  FUZZ_CHECK(payload.find('\r') == std::string_view::npos);
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  FUZZ_CHECK(j.is_object() && j["error"]["code"] == 502);
  FUZZ_CHECK(j["error"]["message"].is_string());
  // Valid UTF-8 comes back as it was (invalid bytes become U+FFFD).
  bool utf8 = true;
  try {
    (void)nlohmann::json(std::string(body)).dump();
  } catch (const nlohmann::json::type_error&) {
    utf8 = false;
  }
  if (utf8) FUZZ_CHECK(j["error"]["message"] == body);
  return 0;
}
