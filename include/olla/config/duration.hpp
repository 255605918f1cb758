#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace olla::config {

using Duration = std::chrono::milliseconds;

// Parses Go-style durations as Olla's config uses them: "500ms", "5s", "1m30s", "2h".
// A bare integer is read as seconds. Returns nullopt on anything else.
std::optional<Duration> parse_duration(std::string_view text);

// Parses sizes: "1048576", "512KB", "100MB", "1MiB", "2GiB" (KB/MB/GB are powers of 1024, as in
// Olla).
std::optional<std::uint64_t> parse_size(std::string_view text);

std::string format_duration(Duration d);

}  // namespace olla::config
