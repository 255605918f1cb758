#include "olla/config/duration.hpp"

#include <cctype>
#include <cstdint>
#include <limits>

namespace olla::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
  if (all_digits) {
    if (text.size() > 9) return std::nullopt;
    return Duration(std::stoll(std::string(text)) * 1000);
  }
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (start == i || i - start > 12) return std::nullopt;
    double value = 0;
    try {
      std::size_t used = 0;
      value = std::stod(std::string(text.substr(start, i - start)), &used);
      if (used != i - start) return std::nullopt;  // "1..5s", "1.2.3s"
    } catch (...) {
      return std::nullopt;
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = lower(text.substr(unit_start, i - unit_start));
    if (unit == "ms")
      total_ms += value;
    else if (unit == "s")
      total_ms += value * 1000;
    else if (unit == "m")
      total_ms += value * 60'000;
    else if (unit == "h")
      total_ms += value * 3'600'000;
    else
      return std::nullopt;
  }
  // Timers count nanoseconds: anything longer would overflow them (and the cast below).
  constexpr double kMaxMs = static_cast<double>(std::chrono::nanoseconds::max().count()) / 1e6;
  if (total_ms >= kMaxMs) return std::nullopt;
  return Duration(static_cast<std::int64_t>(total_ms + 0.5));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) return std::nullopt;
  std::uint64_t value = std::stoull(std::string(text.substr(0, i)));
  std::string unit = lower(text.substr(i));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  std::uint64_t mult = 1;
  if (unit.empty() || unit == "b")
    mult = 1;
  else if (unit == "kb" || unit == "kib" || unit == "k")
    mult = 1ull << 10;
  else if (unit == "mb" || unit == "mib" || unit == "m")
    mult = 1ull << 20;
  else if (unit == "gb" || unit == "gib" || unit == "g")
    mult = 1ull << 30;
  else
    return std::nullopt;
  if (value > std::numeric_limits<std::uint64_t>::max() / mult) return std::nullopt;
  return value * mult;
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "s";
}

}  // namespace olla::config
