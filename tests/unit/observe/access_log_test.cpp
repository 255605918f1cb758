#include "olla/observe/access_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>

namespace olla::observe {
namespace {

// Sends the default logger to a string for one test, then puts the previous one back.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

AccessRecord record(std::string_view path) {
  AccessRecord r;
  r.method = "GET";
  r.path = path;
  r.status = 404;
  r.request_id = "req_1";
  r.client = "127.0.0.1";
  return r;
}

TEST(LogAccess, WritesTheRecordFields) {
  CapturedLog log;
  log_access(record("/olla/litellm/v1/models"));
  const auto text = log.text();
  EXPECT_NE(text.find(R"("path":"/olla/litellm/v1/models")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("status":404)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("request_id":"req_1")"), std::string::npos) << text;
}

TEST(LogAccess, NonUtf8PathDoesNotThrow) {
  // Beast accepts raw bytes >= 0x80 in a request target; the access line must still be written.
  CapturedLog log;
  ASSERT_NO_THROW(log_access(record("/caf\xe9\xff")));
  const auto text = log.text();
  EXPECT_NE(text.find(R"("path":"/caf)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("status":404)"), std::string::npos) << text;
}

}  // namespace
}  // namespace olla::observe
