#include "olla/observe/access_log.hpp"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

namespace olla::observe {
namespace {

bool g_json = true;
constexpr char kRawMarker = '\x01';  // the payload is already rendered JSON members

// %* renders the message as JSON members: "msg":"<escaped>" for ordinary lines, or the
// pre-rendered members of an access line.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == kRawMarker) {
      payload.remove_prefix(1);
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    const std::string escaped = nlohmann::json(std::string(payload))
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    static constexpr std::string_view kKey = "\"msg\":";
    dest.append(kKey.data(), kKey.data() + kKey.size());
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

void setup_logging(std::string_view level, std::string_view format, bool background) {
  g_json = format == "json";
  std::shared_ptr<spdlog::logger> logger;
  if (background) {
    // The queue's slots are allocated and written up front (about 380 bytes each): 1,024 cost
    // 0.4 MB of idle RSS where spdlog's usual 8,192 cost 3 MB. The logging thread drains it far
    // faster than a core proxies requests; when it is full, the oldest lines give way (_nb).
    // Its sink flushes each line, so no flushing thread is needed.
    if (!spdlog::thread_pool()) spdlog::init_thread_pool(1024, 1);
    logger = spdlog::create_async_nb<spdlog::sinks::stdout_sink_mt>("olla");
  } else {
    // std::cout goes through stdout's buffer (block-buffered unless stdout is a terminal).
    logger = std::make_shared<spdlog::logger>(
        "olla", std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout, false));
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  if (g_json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%*})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->flush_on(spdlog::level::warn);  // problems reach the log at once
}

void log_access(const AccessRecord& r) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  if (g_json) {
    nlohmann::ordered_json j = {
        {"msg", "access"},        {"method", r.method},       {"path", r.path},
        {"status", r.status},     {"endpoint", r.endpoint},   {"model", r.model},
        {"bytes_in", r.bytes_in}, {"bytes_out", r.bytes_out}, {"duration_ms", r.duration_ms},
        {"ttfb_ms", r.ttfb_ms},   {"retries", r.retries},     {"request_id", r.request_id},
        {"client", r.client}};
    // The path is the raw request target: bytes that are not UTF-8 are replaced, not thrown on.
    std::string members = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    members.front() = kRawMarker;  // drop the braces: the pattern supplies them
    members.pop_back();
    spdlog::info("{}", members);
  } else {
    spdlog::info(
        "{} {} {} endpoint={} model={} in={} out={} dur={:.1f}ms ttfb={:.1f}ms retries={} id={} "
        "client={}",
        r.method, r.path, r.status, r.endpoint, r.model, r.bytes_in, r.bytes_out, r.duration_ms,
        r.ttfb_ms, r.retries, r.request_id, r.client);
  }
}

}  // namespace olla::observe
