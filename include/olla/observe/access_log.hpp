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

// Sets up spdlog: level, "json" (one JSON object a line) or "text". With `background`, lines are
// queued for a logging thread that writes each at once, so the request path only queues them.
// Without it (a one-thread daemon, which starts no thread), the logging call writes the line into
// stdout's buffer: written out when the buffer is full, at once for warnings and worse, and when
// the caller flushes the logger (the daemon does every 200 ms), as nginx's buffered access log.
void setup_logging(std::string_view level, std::string_view format, bool background = true);

// One access line per request.
void log_access(const AccessRecord& r);

}  // namespace olla::observe
