#include "olla/config/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace olla::config {
namespace {

using namespace std::chrono_literals;

// Sets or unsets one environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const char* value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value, 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Every test starts with the OLLA_* overrides unset, so the host environment cannot leak in.
class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() {
    for (const char* var :
         {"OLLA_SERVER_HOST", "OLLA_SERVER_PORT", "OLLA_SERVER_THREADS", "OLLA_LOGGING_LEVEL",
          "OLLA_LOGGING_FORMAT", "OLLA_PROXY_LOAD_BALANCER", "OLLA_CONFIG_FILE"}) {
      cleared_.push_back(std::make_unique<ScopedEnv>(var, nullptr));
    }
  }

  // The ConfigError message for a config that must be refused ("" and a test failure otherwise).
  static std::string error_of(const std::string& yaml) {
    try {
      load_string(yaml, "test.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
    return {};
  }

  static std::string endpoint_yaml(const std::string& url) {
    return "discovery:\n"
           "  static:\n"
           "    endpoints:\n"
           "      - url: " +
           url + "\n";
  }

 private:
  std::vector<std::unique_ptr<ScopedEnv>> cleared_;
};

std::filesystem::path repo_config_path() {
  // The repository root comes from CMake: __FILE__ may be relative (ccache base_dir).
  return std::filesystem::path(OLLA_SOURCE_DIR) / "config" / "olla.yaml";
}

constexpr const char* kFullConfig = R"(server:
  host: 0.0.0.0
  port: 8080
  threads: 4
  cpu_affinity: "off"
  header_timeout: 15s
  idle_timeout: 2m
  shutdown_timeout: 30s
  request_limits:
    max_body_size: 50MB
    max_header_size: 32KB
proxy:
  load_balancer: priority
  connection_timeout: 3s
  response_timeout: 20m
  read_timeout: 1m30s
  max_inspect_bytes: 2MiB
  retry:
    enabled: false
    max_attempts: 3
discovery:
  type: static
  model_discovery:
    enabled: false
    interval: 10m
    timeout: 5s
  static:
    endpoints:
      - url: http://localhost:4000
        name: primary
        type: litellm
        priority: 200
        model_url: /v1/models
        health_check_url: /health/readiness
        check_interval: 10s
        check_timeout: 1500ms
      - url: https://litellm.example.com/gateway/
        name: secondary
model_registry:
  routing_strategy:
    type: strict
logging:
  level: debug
  format: text
)";

TEST_F(ConfigTest, FullConfigLoadsEveryKey) {
  const Config c = load_string(kFullConfig, "full.yaml");
  EXPECT_EQ(c.source, "full.yaml");

  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.cpu_affinity, "off");
  EXPECT_EQ(c.server.header_timeout, 15s);
  EXPECT_EQ(c.server.idle_timeout, 2min);
  EXPECT_EQ(c.server.shutdown_timeout, 30s);
  EXPECT_EQ(c.server.max_body_size, 50ull << 20);
  EXPECT_EQ(c.server.max_header_size, 32ull << 10);

  EXPECT_EQ(c.proxy.load_balancer, "priority");
  EXPECT_EQ(c.proxy.connection_timeout, 3s);
  EXPECT_EQ(c.proxy.response_timeout, 20min);
  EXPECT_EQ(c.proxy.read_timeout, 90s);
  EXPECT_EQ(c.proxy.max_inspect_bytes, 2ull << 20);
  EXPECT_FALSE(c.proxy.retry_enabled);
  EXPECT_EQ(c.proxy.retry_max_attempts, 3);

  EXPECT_FALSE(c.discovery.model_discovery_enabled);
  EXPECT_EQ(c.discovery.model_discovery_interval, 10min);
  EXPECT_EQ(c.discovery.model_discovery_timeout, 5s);
  ASSERT_EQ(c.discovery.endpoints.size(), 2u);

  const auto& a = c.discovery.endpoints[0];
  EXPECT_EQ(a.name, "primary");
  EXPECT_EQ(a.url, "http://localhost:4000");
  EXPECT_EQ(a.type, "litellm");
  EXPECT_EQ(a.priority, 200);
  EXPECT_EQ(a.model_url, "/v1/models");
  EXPECT_EQ(a.health_check_url, "/health/readiness");
  EXPECT_EQ(a.check_interval, 10s);
  EXPECT_EQ(a.check_timeout, 1500ms);
  EXPECT_EQ(a.scheme, "http");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 4000);
  EXPECT_EQ(a.base_path, "");

  const auto& b = c.discovery.endpoints[1];
  EXPECT_EQ(b.name, "secondary");
  EXPECT_EQ(b.scheme, "https");
  EXPECT_EQ(b.host, "litellm.example.com");
  EXPECT_EQ(b.port, 443);
  EXPECT_EQ(b.base_path, "/gateway");
  // Unset endpoint keys keep their defaults.
  EXPECT_EQ(b.priority, 100);
  EXPECT_EQ(b.model_url, "/v1/models");
  EXPECT_EQ(b.health_check_url, "/health/liveliness");
  EXPECT_EQ(b.check_interval, 5s);
  EXPECT_EQ(b.check_timeout, 2s);

  EXPECT_EQ(c.model_registry.routing_strategy, "strict");
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.format, "text");
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(ConfigTest, ShippedConfigFileLoads) {
  const auto path = repo_config_path();
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  const Config c = load_file(path.string());
  EXPECT_EQ(c.source, path.string());
  EXPECT_EQ(c.server.host, "localhost");
  EXPECT_EQ(c.server.port, 40114);
  EXPECT_EQ(c.server.max_body_size, 100ull << 20);
  EXPECT_EQ(c.server.max_header_size, 64ull << 10);
  EXPECT_EQ(c.proxy.load_balancer, "least-connections");
  EXPECT_EQ(c.proxy.response_timeout, 10min);
  EXPECT_EQ(c.proxy.read_timeout, 5min);
  EXPECT_EQ(c.proxy.max_inspect_bytes, 1ull << 20);
  EXPECT_TRUE(c.proxy.retry_enabled);
  EXPECT_EQ(c.proxy.retry_max_attempts, 0);
  EXPECT_EQ(c.discovery.model_discovery_interval, 5min);
  ASSERT_EQ(c.discovery.endpoints.size(), 1u);
  EXPECT_EQ(c.discovery.endpoints[0].name, "litellm-gateway");
  EXPECT_EQ(c.discovery.endpoints[0].host, "localhost");
  EXPECT_EQ(c.discovery.endpoints[0].port, 4000);
  EXPECT_EQ(c.discovery.endpoints[0].health_check_url, "/health/liveliness");
  EXPECT_EQ(c.model_registry.routing_strategy, "optimistic");
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, "json");
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  try {
    load_file("/nonexistent/olla-unit-test.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/olla-unit-test.yaml"), std::string::npos);
  }
}

TEST_F(ConfigTest, EmptyDocumentGivesDefaults) {
  const Config c = load_string("");
  EXPECT_EQ(c.server.host, "localhost");
  EXPECT_EQ(c.server.port, 40114);
  EXPECT_EQ(c.server.threads, 0);
  EXPECT_EQ(c.server.cpu_affinity, "auto");
  EXPECT_EQ(c.server.header_timeout, 10s);
  EXPECT_EQ(c.server.idle_timeout, 60s);
  EXPECT_EQ(c.server.max_body_size, 100ull << 20);
  EXPECT_EQ(c.proxy.load_balancer, "least-connections");
  EXPECT_EQ(c.proxy.connection_timeout, 10s);
  EXPECT_EQ(c.proxy.response_timeout, 10min);
  EXPECT_EQ(c.proxy.read_timeout, 5min);
  EXPECT_EQ(c.proxy.max_inspect_bytes, 1ull << 20);
  EXPECT_TRUE(c.proxy.retry_enabled);
  EXPECT_TRUE(c.discovery.model_discovery_enabled);
  EXPECT_EQ(c.discovery.model_discovery_interval, 5min);
  EXPECT_TRUE(c.discovery.endpoints.empty());
  EXPECT_EQ(c.model_registry.routing_strategy, "optimistic");
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, "json");
}

TEST_F(ConfigTest, MissingSectionsKeepDefaults) {
  const Config c = load_string("server:\n  port: 8081\nproxy:\n  retry:\n    max_attempts: 2\n");
  EXPECT_EQ(c.server.port, 8081);
  EXPECT_EQ(c.server.host, "localhost");
  EXPECT_EQ(c.proxy.retry_max_attempts, 2);
  EXPECT_TRUE(c.proxy.retry_enabled);
  EXPECT_EQ(c.proxy.load_balancer, "least-connections");
  EXPECT_EQ(c.model_registry.routing_strategy, "optimistic");
  EXPECT_EQ(c.logging.level, "info");
}

TEST_F(ConfigTest, EmptySectionKeepsDefaults) {
  const Config c = load_string("server:\nlogging:\n");
  EXPECT_EQ(c.server.port, 40114);
  EXPECT_EQ(c.logging.format, "json");
}

TEST_F(ConfigTest, UnknownTopLevelKeyNamesKeyAndLine) {
  const auto msg = error_of("server:\n  port: 1234\nservr:\n  port: 1\n");
  EXPECT_NE(msg.find("test.yaml:3: servr"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownNestedKeyNamesDottedKeyAndLine) {
  const auto msg = error_of("proxy:\n  retry:\n    enabled: true\n    foo: 1\n");
  EXPECT_NE(msg.find("test.yaml:4: proxy.retry.foo"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownServerLimitKey) {
  const auto msg = error_of("server:\n  request_limits:\n    max_body: 1MB\n");
  EXPECT_NE(msg.find("test.yaml:3: server.request_limits.max_body"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownEndpointKeyNamesIndexAndLine) {
  const auto msg = error_of(endpoint_yaml("http://a:1") + "        nmae: x\n");
  EXPECT_NE(msg.find("test.yaml:5: discovery.static.endpoints[0].nmae"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownKeyInSecondEndpoint) {
  const auto msg = error_of(endpoint_yaml("http://a:1") +
                            "      - url: http://b:2\n"
                            "        check_intervall: 5s\n");
  EXPECT_NE(msg.find("test.yaml:6: discovery.static.endpoints[1].check_intervall"),
            std::string::npos)
      << msg;
}

TEST_F(ConfigTest, InvalidYamlNamesLine) {
  const auto msg = error_of("server:\n  port: [1, 2\n");
  EXPECT_NE(msg.find("test.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
}

TEST_F(ConfigTest, SectionThatIsNotAMappingIsRefused) {
  const auto msg = error_of("server: 5\n");
  EXPECT_NE(msg.find("test.yaml:1: server"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mapping"), std::string::npos) << msg;
}

TEST_F(ConfigTest, PortOutOfRange) {
  const auto msg = error_of("server:\n  port: 70000\n");
  EXPECT_NE(msg.find("test.yaml:2: server.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("70000"), std::string::npos) << msg;
}

TEST_F(ConfigTest, PortNotANumber) {
  const auto msg = error_of("server:\n  port: 80x\n");
  EXPECT_NE(msg.find("server.port"), std::string::npos) << msg;
}

TEST_F(ConfigTest, PortZeroIsAllowed) {
  EXPECT_EQ(load_string("server:\n  port: 0\n").server.port, 0);
}

TEST_F(ConfigTest, ThreadsOutOfRange) {
  const auto msg = error_of("server:\n  threads: 1000\n");
  EXPECT_NE(msg.find("server.threads"), std::string::npos) << msg;
}

TEST_F(ConfigTest, CpuAffinityIsAutoOrOff) {
  const auto msg = error_of("server:\n  cpu_affinity: yes\n");
  EXPECT_NE(msg.find("server.cpu_affinity"), std::string::npos) << msg;
  ScopedEnv affinity("OLLA_SERVER_CPU_AFFINITY", "off");
  EXPECT_EQ(load_string("").server.cpu_affinity, "off");
}

TEST_F(ConfigTest, UnknownLoadBalancer) {
  const auto msg = error_of("proxy:\n  load_balancer: fastest\n");
  EXPECT_NE(msg.find("test.yaml:2: proxy.load_balancer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fastest"), std::string::npos) << msg;
}

TEST_F(ConfigTest, EveryBalancerNameIsAccepted) {
  for (const char* name : {"priority", "round-robin", "least-connections"}) {
    EXPECT_EQ(
        load_string(std::string("proxy:\n  load_balancer: ") + name + "\n").proxy.load_balancer,
        name);
  }
}

TEST_F(ConfigTest, BadDuration) {
  const auto msg = error_of("proxy:\n  connection_timeout: 5 parsecs\n");
  EXPECT_NE(msg.find("test.yaml:2: proxy.connection_timeout"), std::string::npos) << msg;
  EXPECT_NE(msg.find("5 parsecs"), std::string::npos) << msg;
}

TEST_F(ConfigTest, DurationBelowMinimum) {
  const auto msg = error_of(endpoint_yaml("http://a:1") + "        check_interval: 50ms\n");
  EXPECT_NE(msg.find("discovery.static.endpoints[0].check_interval"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadSize) {
  const auto msg = error_of("server:\n  request_limits:\n    max_body_size: lots\n");
  EXPECT_NE(msg.find("test.yaml:3: server.request_limits.max_body_size"), std::string::npos) << msg;
}

TEST_F(ConfigTest, ZeroSizeIsRefused) {
  const auto msg = error_of("proxy:\n  max_inspect_bytes: 0\n");
  EXPECT_NE(msg.find("proxy.max_inspect_bytes"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadBoolean) {
  const auto msg = error_of("proxy:\n  retry:\n    enabled: maybe\n");
  EXPECT_NE(msg.find("test.yaml:3: proxy.retry.enabled"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadRoutingStrategy) {
  const auto msg = error_of("model_registry:\n  routing_strategy:\n    type: random\n");
  EXPECT_NE(msg.find("model_registry.routing_strategy.type"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadLoggingLevel) {
  const auto msg = error_of("logging:\n  level: loud\n");
  EXPECT_NE(msg.find("logging.level"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadDiscoveryType) {
  const auto msg = error_of("discovery:\n  type: consul\n");
  EXPECT_NE(msg.find("discovery.type"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadEndpointType) {
  const auto msg = error_of(endpoint_yaml("http://a:1") + "        type: ollama\n");
  EXPECT_NE(msg.find("discovery.static.endpoints[0].type"), std::string::npos) << msg;
}

TEST_F(ConfigTest, EndpointsMustBeAList) {
  const auto msg = error_of("discovery:\n  static:\n    endpoints: http://a:1\n");
  EXPECT_NE(msg.find("discovery.static.endpoints"), std::string::npos) << msg;
}

TEST_F(ConfigTest, CredentialsInUrlAreRefused) {
  const auto msg = error_of(endpoint_yaml("http://user:pass@litellm:4000"));
  EXPECT_NE(msg.find("test.yaml:4: discovery.static.endpoints[0].url"), std::string::npos) << msg;
  EXPECT_NE(msg.find("credentials"), std::string::npos) << msg;
  // The refusal must not echo the password back into logs.
  EXPECT_EQ(msg.find("pass@"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UserOnlyInUrlIsRefused) {
  const auto msg = error_of(endpoint_yaml("https://user@litellm/"));
  EXPECT_NE(msg.find("credentials"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MissingUrl) {
  const auto msg =
      error_of("discovery:\n  static:\n    endpoints:\n      - name: a\n        priority: 1\n");
  EXPECT_NE(msg.find("discovery.static.endpoints[0].url"), std::string::npos) << msg;
  EXPECT_NE(msg.find("required"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UrlWithoutSchemeOrWithOtherScheme) {
  EXPECT_NE(error_of(endpoint_yaml("localhost:4000")).find("endpoints[0].url"), std::string::npos);
  EXPECT_NE(error_of(endpoint_yaml("ftp://localhost:4000")).find("endpoints[0].url"),
            std::string::npos);
}

TEST_F(ConfigTest, UrlWithBadPortOrNoHost) {
  EXPECT_NE(error_of(endpoint_yaml("http://localhost:0")).find("endpoints[0].url"),
            std::string::npos);
  EXPECT_NE(error_of(endpoint_yaml("http://localhost:65536")).find("endpoints[0].url"),
            std::string::npos);
  EXPECT_NE(error_of(endpoint_yaml("http://localhost:4x")).find("endpoints[0].url"),
            std::string::npos);
  EXPECT_NE(error_of(endpoint_yaml("http://:4000")).find("endpoints[0].url"), std::string::npos);
}

TEST_F(ConfigTest, DuplicateEndpointNames) {
  const auto msg = error_of(endpoint_yaml("http://a:1") +
                            "        name: same\n"
                            "      - url: http://b:2\n"
                            "        name: same\n");
  EXPECT_NE(msg.find("discovery.static.endpoints[1].name"), std::string::npos) << msg;
  EXPECT_NE(msg.find("duplicate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("test.yaml:6"), std::string::npos) << msg;
}

TEST_F(ConfigTest, DuplicateDefaultNames) {
  // Two unnamed endpoints at the same host:port get the same default name.
  const auto msg = error_of(endpoint_yaml("http://a:1") + "      - url: http://a:1/other\n");
  EXPECT_NE(msg.find("duplicate"), std::string::npos) << msg;
}

TEST_F(ConfigTest, DefaultNameIsHostAndPort) {
  const Config c = load_string(endpoint_yaml("http://litellm.internal:4000"));
  ASSERT_EQ(c.discovery.endpoints.size(), 1u);
  EXPECT_EQ(c.discovery.endpoints[0].name, "litellm.internal:4000");
}

TEST_F(ConfigTest, HttpsUrlDefaultsToPort443) {
  const EndpointConfig ep =
      load_string(endpoint_yaml("https://litellm.example.com")).discovery.endpoints[0];
  EXPECT_EQ(ep.scheme, "https");
  EXPECT_EQ(ep.host, "litellm.example.com");
  EXPECT_EQ(ep.port, 443);
  EXPECT_EQ(ep.base_path, "");
}

TEST_F(ConfigTest, HttpUrlDefaultsToPort80) {
  const EndpointConfig ep = load_string(endpoint_yaml("http://litellm")).discovery.endpoints[0];
  EXPECT_EQ(ep.scheme, "http");
  EXPECT_EQ(ep.port, 80);
}

TEST_F(ConfigTest, SchemeIsCaseInsensitive) {
  const EndpointConfig ep =
      load_string(endpoint_yaml("HTTPS://litellm:8443")).discovery.endpoints[0];
  EXPECT_EQ(ep.scheme, "https");
  EXPECT_EQ(ep.port, 8443);
}

TEST_F(ConfigTest, BasePathParsing) {
  struct Case {
    const char* url;
    const char* base;
  };
  for (const Case& c :
       {Case{"http://h:4000", ""}, Case{"http://h:4000/", ""},
        Case{"http://h:4000/litellm", "/litellm"}, Case{"http://h:4000/litellm/", "/litellm"},
        Case{"http://h:4000/a/b//", "/a/b"}, Case{"https://h/proxy/v2", "/proxy/v2"}}) {
    const EndpointConfig ep = load_string(endpoint_yaml(c.url)).discovery.endpoints[0];
    EXPECT_EQ(ep.base_path, c.base) << c.url;
    EXPECT_EQ(ep.host, "h") << c.url;
  }
}

TEST_F(ConfigTest, Ipv6Host) {
  const EndpointConfig ep =
      load_string(endpoint_yaml("http://[::1]:4000/lite")).discovery.endpoints[0];
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 4000);
  EXPECT_EQ(ep.base_path, "/lite");

  const EndpointConfig no_port =
      load_string(endpoint_yaml("https://[2001:db8::5]")).discovery.endpoints[0];
  EXPECT_EQ(no_port.host, "2001:db8::5");
  EXPECT_EQ(no_port.port, 443);
}

TEST_F(ConfigTest, Ipv6WithoutClosingBracketIsRefused) {
  EXPECT_NE(error_of(endpoint_yaml("http://[::1:4000")).find("endpoints[0].url"),
            std::string::npos);
}

TEST_F(ConfigTest, PathsGetALeadingSlash) {
  const EndpointConfig ep = load_string(endpoint_yaml("http://h:1") +
                                        "        model_url: v1/models\n"
                                        "        health_check_url: health/readiness\n")
                                .discovery.endpoints[0];
  EXPECT_EQ(ep.model_url, "/v1/models");
  EXPECT_EQ(ep.health_check_url, "/health/readiness");
}

TEST_F(ConfigTest, EnvExpansion) {
  ScopedEnv host("OLLA_UNIT_TEST_HOST", "10.1.2.3");
  ScopedEnv port("OLLA_UNIT_TEST_PORT", nullptr);
  const Config c = load_string(
      "server:\n"
      "  host: ${OLLA_UNIT_TEST_HOST}\n"
      "  port: ${OLLA_UNIT_TEST_PORT:-8081}\n" +
      endpoint_yaml("http://${OLLA_UNIT_TEST_HOST}:4000/${OLLA_UNIT_TEST_BASE:-lite}"));
  EXPECT_EQ(c.server.host, "10.1.2.3");
  EXPECT_EQ(c.server.port, 8081);
  ASSERT_EQ(c.discovery.endpoints.size(), 1u);
  EXPECT_EQ(c.discovery.endpoints[0].host, "10.1.2.3");
  EXPECT_EQ(c.discovery.endpoints[0].base_path, "/lite");
}

TEST_F(ConfigTest, EnvExpansionPrefersSetValueOverDefault) {
  ScopedEnv port("OLLA_UNIT_TEST_PORT", "9001");
  EXPECT_EQ(load_string("server:\n  port: ${OLLA_UNIT_TEST_PORT:-8081}\n").server.port, 9001);
}

TEST_F(ConfigTest, EnvExpansionWithEmptyDefault) {
  ScopedEnv unset("OLLA_UNIT_TEST_UNSET", nullptr);
  EXPECT_EQ(load_string("server:\n  host: a${OLLA_UNIT_TEST_UNSET:-}b\n").server.host, "ab");
}

TEST_F(ConfigTest, UnsetEnvWithoutDefaultIsAnError) {
  ScopedEnv unset("OLLA_UNIT_TEST_UNSET", nullptr);
  const auto msg = error_of("logging:\n  level: info\nserver:\n  host: ${OLLA_UNIT_TEST_UNSET}\n");
  EXPECT_NE(msg.find("OLLA_UNIT_TEST_UNSET"), std::string::npos) << msg;
  EXPECT_NE(msg.find("test.yaml:4: server.host"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnterminatedEnvReferenceIsAnError) {
  const auto msg = error_of("server:\n  host: ${OLLA_UNIT_TEST_HOST\n");
  EXPECT_NE(msg.find("server.host"), std::string::npos) << msg;
}

TEST_F(ConfigTest, ExpandedValueIsValidated) {
  ScopedEnv port("OLLA_UNIT_TEST_PORT", "70000");
  const auto msg = error_of("server:\n  port: ${OLLA_UNIT_TEST_PORT}\n");
  EXPECT_NE(msg.find("server.port"), std::string::npos) << msg;
}

TEST_F(ConfigTest, EnvOverridesWinOverTheFile) {
  ScopedEnv port("OLLA_SERVER_PORT", "9999");
  ScopedEnv host("OLLA_SERVER_HOST", "0.0.0.0");
  ScopedEnv level("OLLA_LOGGING_LEVEL", "warn");
  ScopedEnv lb("OLLA_PROXY_LOAD_BALANCER", "round-robin");
  const Config c = load_string(kFullConfig);
  EXPECT_EQ(c.server.port, 9999);
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.logging.level, "warn");
  EXPECT_EQ(c.proxy.load_balancer, "round-robin");
  // Keys without an override keep the file's value.
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.logging.format, "text");
}

TEST_F(ConfigTest, EnvOverridesApplyWithoutAFileValue) {
  ScopedEnv port("OLLA_SERVER_PORT", "12345");
  ScopedEnv host("OLLA_SERVER_HOST", "127.0.0.1");
  const Config c = load_string("");
  EXPECT_EQ(c.server.port, 12345);
  EXPECT_EQ(c.server.host, "127.0.0.1");
}

TEST_F(ConfigTest, EmptyEnvOverrideIsIgnored) {
  ScopedEnv port("OLLA_SERVER_PORT", "");
  EXPECT_EQ(load_string("server:\n  port: 8080\n").server.port, 8080);
}

TEST_F(ConfigTest, BadPortOverrideNamesTheVariable) {
  ScopedEnv port("OLLA_SERVER_PORT", "70000");
  try {
    load_string("");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("OLLA_SERVER_PORT"), std::string::npos) << msg;
    EXPECT_NE(msg.find("70000"), std::string::npos) << msg;
  }
}

TEST_F(ConfigTest, BadLoadBalancerOverrideNamesTheVariable) {
  ScopedEnv lb("OLLA_PROXY_LOAD_BALANCER", "fastest");
  try {
    load_string("");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("OLLA_PROXY_LOAD_BALANCER"), std::string::npos)
        << e.what();
  }
}

TEST_F(ConfigTest, BadLoggingLevelOverrideNamesTheVariable) {
  ScopedEnv level("OLLA_LOGGING_LEVEL", "loud");
  try {
    load_string("");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("OLLA_LOGGING_LEVEL"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigTest, PaidHealthPathIsWarnedAbout) {
  const Config c = load_string(endpoint_yaml("http://h:1") + "        health_check_url: /health\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("discovery.static.endpoints[0].health_check_url"), std::string::npos)
      << c.warnings[0];
  EXPECT_NE(c.warnings[0].find(":5"), std::string::npos) << c.warnings[0];
  EXPECT_NE(c.warnings[0].find("/health/liveliness"), std::string::npos) << c.warnings[0];
  EXPECT_EQ(c.discovery.endpoints[0].health_check_url, "/health");
}

TEST_F(ConfigTest, CheapHealthPathsAreNotWarnedAbout) {
  for (const char* path : {"/health/liveliness", "/health/liveness", "/health/readiness"}) {
    const Config c =
        load_string(endpoint_yaml("http://h:1") + "        health_check_url: " + path + "\n");
    EXPECT_TRUE(c.warnings.empty()) << path;
  }
  EXPECT_TRUE(load_string(endpoint_yaml("http://h:1")).warnings.empty());
}

TEST_F(ConfigTest, DefaultConfigPath) {
  EXPECT_EQ(default_config_path(), "config/olla.yaml");
  ScopedEnv file("OLLA_CONFIG_FILE", "/etc/olla/custom.yaml");
  EXPECT_EQ(default_config_path(), "/etc/olla/custom.yaml");
}

TEST_F(ConfigTest, RateLimitsAreOffByDefault) {
  for (const Config& c : {load_string(""), load_file(repo_config_path().string())}) {
    const auto& rl = c.server.rate_limits;
    EXPECT_FALSE(rl.enabled());
    EXPECT_EQ(rl.global_per_minute, 0u);
    EXPECT_EQ(rl.per_ip_per_minute, 0u);
    EXPECT_EQ(rl.health_per_minute, 0u);
    EXPECT_EQ(rl.burst, 0u);
    EXPECT_EQ(rl.cleanup_interval, 5min);
    EXPECT_EQ(rl.max_tracked_ips, 100'000u);
    EXPECT_TRUE(rl.trusted_proxy_cidrs.empty());
  }
}

TEST_F(ConfigTest, RateLimitsLoadEveryKey) {
  const Config c = load_string(
      "server:\n"
      "  rate_limits:\n"
      "    global_requests_per_minute: 6000\n"
      "    per_ip_requests_per_minute: 120\n"
      "    burst_size: 30\n"
      "    health_requests_per_minute: 600\n"
      "    cleanup_interval: 2m\n"
      "    max_tracked_ips: 5000\n"
      "    trusted_proxy_cidrs: [10.0.0.0/8, \"::1\", 2001:db8::/32, 192.0.2.7]\n");
  const auto& rl = c.server.rate_limits;
  EXPECT_TRUE(rl.enabled());
  EXPECT_EQ(rl.global_per_minute, 6000u);
  EXPECT_EQ(rl.per_ip_per_minute, 120u);
  EXPECT_EQ(rl.burst, 30u);
  EXPECT_EQ(rl.health_per_minute, 600u);
  EXPECT_EQ(rl.cleanup_interval, 2min);
  EXPECT_EQ(rl.max_tracked_ips, 5000u);
  EXPECT_EQ(rl.trusted_proxy_cidrs,
            (std::vector<std::string>{"10.0.0.0/8", "::1", "2001:db8::/32", "192.0.2.7"}));
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(ConfigTest, RateLimitsWithOnlyOneRate) {
  const Config c = load_string("server:\n  rate_limits:\n    per_ip_requests_per_minute: 60\n");
  EXPECT_TRUE(c.server.rate_limits.enabled());
  EXPECT_EQ(c.server.rate_limits.burst, 0u);  // derived per bucket: 60 / 6 = 10
  EXPECT_EQ(c.server.rate_limits.burst_for(60), 10u);
  EXPECT_EQ(c.server.rate_limits.global_per_minute, 0u);
}

TEST_F(ConfigTest, UnknownRateLimitKeyNamesKeyAndLine) {
  const auto msg = error_of(
      "server:\n"
      "  rate_limits:\n"
      "    per_ip_requests_per_minute: 60\n"
      "    requests_per_minute: 60\n");
  EXPECT_NE(msg.find("test.yaml:4: server.rate_limits.requests_per_minute"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadTrustedProxyCidrNamesTheEntry) {
  auto msg = error_of(
      "server:\n"
      "  rate_limits:\n"
      "    trusted_proxy_cidrs:\n"
      "      - 10.0.0.0/8\n"
      "      - 10.0.0.0/33\n");
  EXPECT_NE(msg.find("test.yaml:5: server.rate_limits.trusted_proxy_cidrs[1]"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("'10.0.0.0/33'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("prefix length"), std::string::npos) << msg;
  msg = error_of("server:\n  rate_limits:\n    trusted_proxy_cidrs: [proxy.internal]\n");
  EXPECT_NE(msg.find("test.yaml:3: server.rate_limits.trusted_proxy_cidrs[0]"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("not an IPv4 or IPv6 address"), std::string::npos) << msg;
}

TEST_F(ConfigTest, TrustedProxyCidrsMustBeAList) {
  const auto msg = error_of("server:\n  rate_limits:\n    trusted_proxy_cidrs: 10.0.0.0/8\n");
  EXPECT_NE(msg.find("test.yaml:3: server.rate_limits.trusted_proxy_cidrs"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("must be a list"), std::string::npos) << msg;
}

TEST_F(ConfigTest, BadRateLimitValuesNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"global_requests_per_minute: -1", "server.rate_limits.global_requests_per_minute"},
      {"per_ip_requests_per_minute: lots", "server.rate_limits.per_ip_requests_per_minute"},
      {"health_requests_per_minute: 20000000", "server.rate_limits.health_requests_per_minute"},
      {"burst_size: 2000000", "server.rate_limits.burst_size"},
      {"max_tracked_ips: 0", "server.rate_limits.max_tracked_ips"},
      {"cleanup_interval: 500ms", "server.rate_limits.cleanup_interval"},
      {"cleanup_interval: soon", "server.rate_limits.cleanup_interval"},
  };
  for (const auto& [line, key] : cases) {
    const auto msg = error_of(std::string("server:\n  rate_limits:\n    ") + line + "\n");
    EXPECT_NE(msg.find(std::string("test.yaml:3: ") + key), std::string::npos)
        << line << ": " << msg;
  }
}

TEST_F(ConfigTest, TrustingEveryPeerIsWarnedAbout) {
  const Config c = load_string(
      "server:\n  rate_limits:\n    per_ip_requests_per_minute: 60\n"
      "    trusted_proxy_cidrs: [0.0.0.0/0]\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("server.rate_limits.trusted_proxy_cidrs[0]"), std::string::npos)
      << c.warnings[0];
}

}  // namespace
}  // namespace olla::config

namespace olla::config {
namespace {

// Found by the config fuzzer: a mapping where a string belongs threw YAML::BadConversion.
TEST(ConfigShapes, WrongShapesInListsAreConfigErrors) {
  EXPECT_THROW(load_string("server:\n  cors:\n    allowed_origins: [[a], {b: c}]\n"), ConfigError);
  EXPECT_THROW(load_string("server:\n  internal_access:\n    allow_cidrs: [{a: b}]\n"),
               ConfigError);
  EXPECT_THROW(load_string("server:\n  rate_limits:\n    trusted_proxy_cidrs: [[1]]\n"),
               ConfigError);
  EXPECT_THROW(load_string("discovery:\n  static:\n    endpoints:\n      - url: [x]\n"),
               ConfigError);
}

}  // namespace
}  // namespace olla::config
