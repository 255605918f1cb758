#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace olla::observe {

struct AccessRecord {
  std::string_view method;
  std::string_view path;
  int status = 0;
  std::string_view endpoint;
  std::string_view model;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  double duration_ms = 0;
  double ttfb_ms = 0;
  int retries = 0;
  std::string_view request_id;
  std::string_view client;
};

// Sets up spdlog: level, "json" (one JSON object a line) or "text", asynchronous so the request
// path only queues the line.
void setup_logging(std::string_view level, std::string_view format);

// One access line per request.
void log_access(const AccessRecord& r);

}  // namespace olla::observe
