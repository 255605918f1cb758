#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "olla/config/duration.hpp"
#include "olla/limits/rate_limit_config.hpp"
#include "olla/proxy/cors.hpp"

namespace olla::config {

// A bad config file: the message names the file, the line and the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EndpointConfig {
  std::string name;
  std::string url;  // as written, e.g. http://localhost:4000
  std::string type = "litellm";
  int priority = 100;
  std::string model_url = "/v1/models";
  std::string health_check_url = "/health/liveliness";
  Duration check_interval{5000};
  Duration check_timeout{2000};

  // https only: certificate verification (on by default) and an extra CA bundle.
  bool tls_verify = true;
  std::string tls_ca_file;

  // Credentials for this LiteLLM (auth:), resolved at load time to one header. Sent on probes
  // and discovery always, on proxied requests when the client sent no header of that name.
  std::string auth_header;  // e.g. "Authorization" or "x-api-key"; "" = none
  std::string auth_value;   // e.g. "Bearer sk-..."
  // Extra headers (headers:), sent on probes and discovery, and on proxied requests unless the
  // client sent the same header.
  std::vector<std::pair<std::string, std::string>> headers;

  // Derived from url.
  std::string scheme;  // http or https
  std::string host;    // no brackets for IPv6
  std::uint16_t port = 0;
  std::string base_path;  // "" or "/prefix" without trailing slash

  bool operator==(const EndpointConfig&) const = default;
};

struct ServerConfig {
  std::string host = "localhost";
  std::uint16_t port = 40114;
  int threads = 0;  // 0 = one per CPU the process may run on
  // "auto": with one worker per CPU the process may run on, worker i stays on the i-th of them
  // (two busy workers the scheduler puts on one CPU take turns in 4 ms slices); "off": never.
  std::string cpu_affinity = "auto";
  Duration header_timeout{10'000};
  Duration idle_timeout{60'000};
  Duration shutdown_timeout{10'000};
  std::uint64_t max_body_size = 100ull << 20;
  std::uint64_t max_header_size = 64ull << 10;
  // Who may read /internal/*: these networks (empty = loopback only), and with a bearer token
  // when one is set. X-Forwarded-For is never believed for this.
  std::vector<std::string> internal_allow_cidrs;
  std::string internal_token;
  // Connections served at once; past it new ones get a 503 and are closed. 0 = no cap.
  std::size_t max_connections = 0;
  proxy::CorsConfig cors;
  // server.rate_limits: off unless a rate is set.
  limits::RateLimitConfig rate_limits;
};

struct ProxyConfig {
  std::string load_balancer = "least-connections";
  Duration connection_timeout{10'000};
  Duration response_timeout{600'000};
  Duration read_timeout{300'000};
  std::uint64_t max_inspect_bytes = 1ull << 20;
  bool retry_enabled = true;
  int retry_max_attempts = 0;  // 0 = every candidate once
  int breaker_failure_threshold = 5;
  Duration breaker_cooldown{30'000};
};

struct DiscoveryConfig {
  bool model_discovery_enabled = true;
  Duration model_discovery_interval{300'000};
  Duration model_discovery_timeout{10'000};
  std::vector<EndpointConfig> endpoints;
};

struct ModelRegistryConfig {
  std::string routing_strategy = "optimistic";  // or strict
};

struct LoggingConfig {
  std::string level = "info";
  std::string format = "json";
};

struct Config {
  ServerConfig server;
  ProxyConfig proxy;
  DiscoveryConfig discovery;
  ModelRegistryConfig model_registry;
  LoggingConfig logging;
  std::string source;                 // file the config came from, for messages
  std::vector<std::string> warnings;  // non-fatal findings, logged at start-up
};

// Reads and validates a config. Throws ConfigError naming file, line and key.
Config load_file(const std::string& path);
Config load_string(const std::string& yaml, const std::string& source_name = "<string>");

// Where the config comes from when -c is not given: OLLA_CONFIG_FILE, else config/olla.yaml.
std::string default_config_path();

}  // namespace olla::config
