#pragma once
// Test harness: the mock LiteLLM(s) and the gateway in-process on loopback ports the OS picks, and
// a small blocking HTTP client that records when each stream frame arrives.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mock_litellm.hpp"
#include "olla/config/config.hpp"
#include "olla/server/gateway.hpp"

namespace olla::test {

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has(const std::string& name) const { return headers.count(name) > 0; }
};

struct Frame {
  double at_ms = 0;  // since the request was sent
  std::string data;  // the SSE frame without the trailing blank line
};

struct StreamResult {
  Response head;  // status and headers; body is everything received
  std::vector<Frame> frames;
  bool complete = false;  // the body ended with its proper terminator
  std::string error;      // transport error, if any
};

using Headers = std::vector<std::pair<std::string, std::string>>;

Response request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body = "", const Headers& headers = {});

StreamResult stream(std::uint16_t port, const std::string& target, const std::string& body,
                    const Headers& headers = {}, int stop_after_frames = -1);

std::string lower(std::string s);

// One HTTP/1.1 response parsed off the front of raw bytes (Content-Length bodies only, which is
// what the gateway's own errors use).
struct RawResponse {
  int status = 0;
  std::string head;  // lower-cased, status line and fields
  std::string body;
  std::size_t consumed = 0;  // bytes of `raw` this response took; 0 if incomplete
  bool has(const std::string& field) const {
    return head.find("\r\n" + lower(field) + ":") != std::string::npos;
  }
};
RawResponse parse_response(const std::string& raw);
bool response_complete(const std::string& raw);

// Writes raw bytes and returns everything read until the peer closes or timeout passes (with
// `closed`: set to whether the peer closed first).
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000),
                         bool* closed = nullptr);

// A gateway over N mocks. YAML extra goes under the top level (e.g. "proxy:\n  ...").
// endpoint_yaml[i], when given, holds extra keys for endpoint i, one "key: value" per line
// (e.g. "priority: 50\n"); the harness indents them.
class Stack {
 public:
  explicit Stack(std::vector<mock::MockOptions> mocks = {mock::MockOptions{}},
                 const std::string& extra_yaml = "", const std::string& check_interval = "200ms",
                 const std::vector<std::string>& endpoint_yaml = {},
                 const std::function<void(config::Config&)>& tweak = {});
  ~Stack();

  std::uint16_t port() const { return port_; }
  mock::MockLiteLLM& mock(std::size_t i = 0) { return *mocks_[i]; }
  server::Gateway& gateway() { return *gateway_; }
  // The configured name of endpoint i ("litellm-gateway" alone, else "litellm-<i>").
  std::string endpoint_name(std::size_t i) const;

  // Stops mock i (if running) and starts a fresh one with the same options on the same port, as a
  // restarted LiteLLM would come back. Its counters start from zero. Returns the port.
  std::uint16_t restart_mock(std::size_t i);

  // Polls /olla/litellm/health until `healthy` endpoints are healthy with models (bounded).
  bool wait_healthy(std::size_t healthy,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::vector<mock::MockOptions> options_;
  std::vector<std::unique_ptr<mock::MockLiteLLM>> mocks_;
  std::unique_ptr<server::Gateway> gateway_;
  std::uint16_t port_ = 0;
};

std::string chat_body(const std::string& model, bool stream, bool include_usage = false);

}  // namespace olla::test
