#include "olla/config/config.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "olla/observe/access_policy.hpp"

namespace olla::config {
namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Expands ${VAR} and ${VAR:-default}; an unset ${VAR} without a default is an error.
std::string expand_env(const std::string& in, const std::string& where) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
      const auto close = in.find('}', i + 2);
      if (close == std::string::npos) throw ConfigError(where + ": unterminated ${ in value");
      const std::string expr = in.substr(i + 2, close - i - 2);
      const auto dflt = expr.find(":-");
      const std::string var = expr.substr(0, dflt);
      const char* value = std::getenv(var.c_str());
      if (value && *value) {
        out += value;
      } else if (dflt != std::string::npos) {
        out += expr.substr(dflt + 2);
      } else {
        throw ConfigError(where + ": environment variable " + var + " is not set");
      }
      i = close + 1;
    } else {
      out += in[i++];
    }
  }
  return out;
}

// One mapping of the YAML tree, with its dotted path, so every message names file, line and key.
class Section {
 public:
  Section(YAML::Node node, std::string path, const std::string& file)
      : node_(std::move(node)), path_(std::move(path)), file_(file) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail(node_, path_, "must be a mapping");
  }

  void allow_only(std::initializer_list<const char*> keys) const {
    if (!node_ || !node_.IsMap()) return;
    const std::set<std::string> allowed(keys.begin(), keys.end());
    for (const auto& kv : node_) {
      const auto key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
        fail(kv.first, key_path(key), "unknown key (known keys here: " + list + ")");
      }
    }
  }

  Section section(const char* key) const { return Section(get(key), key_path(key), file_); }

  YAML::Node get(const char* key) const {
    if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& map = node_;  // const lookup: never inserts the key
    return map[key];
  }

  void str(const char* key, std::string& out) const {
    auto n = get(key);
    if (!n || n.IsNull()) return;
    if (!n.IsScalar()) fail(n, key_path(key), "must be a string");
    out = expand_env(n.as<std::string>(), where(n, key_path(key)));
  }

  template <typename Int>
  void integer(const char* key, Int& out, long long lo, long long hi) const {
    std::string text;
    str(key, text);
    if (text.empty()) return;
    long long v = 0;
    std::size_t used = 0;
    try {
      v = std::stoll(text, &used);
    } catch (...) {
      used = 0;
    }
    if (used != text.size() || v < lo || v > hi) {
      fail(get(key), key_path(key),
           "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
               ", got '" + text + "'");
    }
    out = static_cast<Int>(v);
  }

  void duration(const char* key, Duration& out, Duration min = Duration(1)) const {
    std::string text;
    str(key, text);
    if (text.empty()) return;
    auto d = parse_duration(text);
    if (!d || *d < min) {
      fail(get(key), key_path(key),
           "must be a duration of at least " + format_duration(min) + " like 500ms, 5s, 2m; got '" +
               text + "'");
    }
    out = *d;
  }

  void size(const char* key, std::uint64_t& out) const {
    std::string text;
    str(key, text);
    if (text.empty()) return;
    auto s = parse_size(text);
    if (!s || *s == 0) fail(get(key), key_path(key), "must be a size like 1048576, 512KB, 100MB");
    out = *s;
  }

  void boolean(const char* key, bool& out) const {
    std::string text;
    str(key, text);
    if (text.empty()) return;
    if (text == "true" || text == "yes" || text == "on")
      out = true;
    else if (text == "false" || text == "no" || text == "off")
      out = false;
    else
      fail(get(key), key_path(key), "must be true or false, got '" + text + "'");
  }

  void one_of(const char* key, std::string& out, std::initializer_list<const char*> options) const {
    str(key, out);
    if (std::none_of(options.begin(), options.end(), [&](const char* o) { return out == o; })) {
      std::string list;
      for (auto* o : options) list += (list.empty() ? "" : ", ") + std::string(o);
      fail(get(key), key_path(key), "must be one of " + list + ", got '" + out + "'");
    }
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& key,
                         const std::string& msg) const {
    throw ConfigError(where(n, key) + ": " + msg);
  }

  std::string where(const YAML::Node& n, const std::string& key) const {
    std::ostringstream os;
    os << file_;
    if (n && n.Mark().line >= 0) os << ":" << n.Mark().line + 1;
    os << ": " << key;
    return os.str();
  }

  std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
};

// Splits scheme://host[:port][/base] and refuses credentials in the URL.
void parse_url(EndpointConfig& ep, const Section& s, const YAML::Node& n, const std::string& key) {
  const auto& url = ep.url;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    s.fail(n, key, "must be an http:// or https:// URL, got '" + url + "'");
  ep.scheme = url.substr(0, scheme_end);
  std::transform(ep.scheme.begin(), ep.scheme.end(), ep.scheme.begin(), ::tolower);
  if (ep.scheme != "http" && ep.scheme != "https") s.fail(n, key, "scheme must be http or https");
  const auto rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  ep.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  if (authority.find('@') != std::string::npos) {
    s.fail(n, key, "credentials in the URL are refused (they would leak into logs and status)");
  }
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) s.fail(n, key, "bad IPv6 address");
    ep.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port_text = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    ep.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (ep.host.empty()) s.fail(n, key, "URL has no host");
  if (port_text.empty()) {
    ep.port = ep.scheme == "https" ? 443 : 80;
  } else {
    char* end = nullptr;
    const long p = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) s.fail(n, key, "bad port '" + port_text + "'");
    ep.port = static_cast<std::uint16_t>(p);
  }
}

std::string ensure_leading_slash(std::string p) {
  if (p.empty() || p.front() != '/') p.insert(p.begin(), '/');
  return p;
}

// A secret given inline (with ${VAR} expansion) or in a file (first line, trimmed).
std::string secret(const Section& s, const char* inline_key, const char* file_key) {
  std::string value;
  s.str(inline_key, value);
  std::string file;
  s.str(file_key, file);
  if (!value.empty() && !file.empty()) {
    s.fail(s.get(file_key), s.key_path(file_key),
           std::string("give either ") + inline_key + " or " + file_key + ", not both");
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) s.fail(s.get(file_key), s.key_path(file_key), "cannot read '" + file + "'");
    std::getline(in, value);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
  }
  return value;
}

void parse_auth(const Section& s, EndpointConfig& ep) {
  if (!s.node() || s.node().IsNull()) return;
  s.allow_only({"type", "token", "token_file", "key", "key_file", "header", "username", "password",
                "password_file"});
  std::string type;
  s.one_of("type", type, {"bearer", "api_key", "basic"});
  const auto require = [&](const std::string& v, const char* what) {
    if (v.empty()) s.fail(s.node(), s.key_path(what), "is required for auth type " + type);
  };
  if (type == "bearer") {
    const auto token = secret(s, "token", "token_file");
    require(token, "token");
    ep.auth_header = "Authorization";
    ep.auth_value = "Bearer " + token;
  } else if (type == "api_key") {
    const auto key = secret(s, "key", "key_file");
    require(key, "key");
    ep.auth_header = "x-api-key";
    s.str("header", ep.auth_header);
    ep.auth_value = key;
  } else {
    std::string user;
    s.str("username", user);
    require(user, "username");
    const auto password = secret(s, "password", "password_file");
    ep.auth_header = "Authorization";
    ep.auth_value = "Basic " + base64(user + ":" + password);
  }
}

void parse_endpoint(const Section& s, EndpointConfig& ep, Config& cfg) {
  s.allow_only({"url", "name", "type", "priority", "model_url", "health_check_url",
                "check_interval", "check_timeout", "tls", "auth", "headers"});
  s.str("url", ep.url);
  if (ep.url.empty()) s.fail(s.node(), s.key_path("url"), "is required");
  parse_url(ep, s, s.get("url"), s.key_path("url"));
  s.str("name", ep.name);
  if (ep.name.empty()) ep.name = ep.host + ":" + std::to_string(ep.port);
  s.one_of("type", ep.type, {"litellm"});
  s.integer("priority", ep.priority, 0, 1'000'000);
  s.str("model_url", ep.model_url);
  s.str("health_check_url", ep.health_check_url);
  ep.model_url = ensure_leading_slash(ep.model_url);
  ep.health_check_url = ensure_leading_slash(ep.health_check_url);
  s.duration("check_interval", ep.check_interval, Duration(100));
  s.duration("check_timeout", ep.check_timeout, Duration(10));
  const auto tls = s.section("tls");
  tls.allow_only({"verify", "ca_file"});
  tls.boolean("verify", ep.tls_verify);
  tls.str("ca_file", ep.tls_ca_file);
  if (!ep.tls_ca_file.empty() && !std::ifstream(ep.tls_ca_file)) {
    tls.fail(tls.get("ca_file"), tls.key_path("ca_file"), "cannot read '" + ep.tls_ca_file + "'");
  }
  if (tls.node() && !tls.node().IsNull() && ep.scheme != "https") {
    cfg.warnings.push_back(s.key_path("tls") +
                           ": set on an http:// endpoint, where it has no effect");
  }
  parse_auth(s.section("auth"), ep);
  const auto headers = s.get("headers");
  if (headers && !headers.IsNull()) {
    if (!headers.IsMap())
      s.fail(headers, s.key_path("headers"), "must be a mapping of header: value");
    const Section hs(headers, s.key_path("headers"), cfg.source);
    for (const auto& kv : headers) {
      const auto name = kv.first.as<std::string>();
      std::string value;
      hs.str(name.c_str(), value);
      const bool bad = name.empty() || name.find_first_of(" :\r\n\t") != std::string::npos ||
                       value.find_first_of("\r\n") != std::string::npos;
      if (bad) hs.fail(kv.first, hs.key_path(name), "is not a valid header");
      ep.headers.emplace_back(name, value);
    }
  }
  if (ep.health_check_url == "/health" || ep.health_check_url == "/v1/health") {
    cfg.warnings.push_back(s.where(s.get("health_check_url"), s.key_path("health_check_url")) +
                           ": LiteLLM's /health makes a paid model call per deployment on every "
                           "probe; use /health/liveliness");
  }
}

void parse_rate_limits(const Section& s, limits::RateLimitConfig& rl, Config& cfg) {
  s.allow_only({"global_requests_per_minute", "per_ip_requests_per_minute", "burst_size",
                "health_requests_per_minute", "cleanup_interval", "trusted_proxy_cidrs",
                "max_tracked_ips"});
  constexpr long long kMaxRate = 10'000'000;  // a token every 6 us
  s.integer("global_requests_per_minute", rl.global_per_minute, 0, kMaxRate);
  s.integer("per_ip_requests_per_minute", rl.per_ip_per_minute, 0, kMaxRate);
  s.integer("health_requests_per_minute", rl.health_per_minute, 0, kMaxRate);
  s.integer("burst_size", rl.burst, 0, 1'000'000);  // 0 = each rate / 6
  s.duration("cleanup_interval", rl.cleanup_interval, Duration(1000));
  s.integer("max_tracked_ips", rl.max_tracked_ips, 1, 100'000'000);
  const auto cidrs = s.get("trusted_proxy_cidrs");
  if (!cidrs || cidrs.IsNull()) return;
  const auto key = s.key_path("trusted_proxy_cidrs");
  if (!cidrs.IsSequence()) s.fail(cidrs, key, "must be a list like [10.0.0.0/8, 192.168.0.0/16]");
  for (std::size_t i = 0; i < cidrs.size(); ++i) {
    const auto entry_key = key + "[" + std::to_string(i) + "]";
    if (!cidrs[i].IsScalar()) s.fail(cidrs[i], entry_key, "must be a network like 10.0.0.0/8");
    const auto text = cidrs[i].as<std::string>();
    observe::AccessPolicy::Network n;
    if (auto error = observe::AccessPolicy::parse_network(text, n); !error.empty())
      s.fail(cidrs[i], entry_key, "'" + text + "': " + error);
    if (n.prefix == 0) {
      cfg.warnings.push_back(s.where(cidrs[i], entry_key) + ": '" + text +
                             "' trusts X-Forwarded-For from every peer, so any client can choose "
                             "the address it is rate limited as");
    }
    rl.trusted_proxy_cidrs.push_back(text);
  }
}

void apply_env_overrides(Config& cfg) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  // Overrides go through the same validation as the file, as one-key YAML documents.
  struct Override {
    const char* var;
    const char* section;
    const char* key;
  };
  static const Override overrides[] = {
      {"OLLA_SERVER_HOST", "server", "host"},
      {"OLLA_SERVER_PORT", "server", "port"},
      {"OLLA_SERVER_THREADS", "server", "threads"},
      {"OLLA_SERVER_CPU_AFFINITY", "server", "cpu_affinity"},
      {"OLLA_LOGGING_LEVEL", "logging", "level"},
      {"OLLA_LOGGING_FORMAT", "logging", "format"},
      {"OLLA_PROXY_LOAD_BALANCER", "proxy", "load_balancer"},
  };
  for (const auto& o : overrides) {
    if (const char* v = env(o.var)) {
      YAML::Node doc;
      doc[o.section][o.key] = std::string(v);
      const std::string src = std::string("environment ") + o.var;
      const Section sec(doc[o.section], o.section, src);
      const std::string key = o.key;
      if (key == "host") sec.str("host", cfg.server.host);
      if (key == "port") sec.integer("port", cfg.server.port, 0, 65535);
      if (key == "threads") sec.integer("threads", cfg.server.threads, 0, 256);
      if (key == "cpu_affinity")
        sec.one_of("cpu_affinity", cfg.server.cpu_affinity, {"auto", "off"});
      if (key == "level")
        sec.one_of("level", cfg.logging.level, {"trace", "debug", "info", "warn", "error", "off"});
      if (key == "format") sec.one_of("format", cfg.logging.format, {"json", "text"});
      if (key == "load_balancer") {
        sec.one_of("load_balancer", cfg.proxy.load_balancer,
                   {"priority", "round-robin", "least-connections"});
      }
    }
  }
}

Config parse(const YAML::Node& root, const std::string& file) {
  Config cfg;
  cfg.source = file;
  const Section top(root, "", file);
  top.allow_only({"server", "proxy", "discovery", "model_registry", "logging"});

  const auto server = top.section("server");
  server.allow_only({"host", "port", "threads", "cpu_affinity", "header_timeout", "idle_timeout",
                     "shutdown_timeout", "request_limits", "internal_access", "max_connections",
                     "cors", "rate_limits"});
  parse_rate_limits(server.section("rate_limits"), cfg.server.rate_limits, cfg);
  server.integer("max_connections", cfg.server.max_connections, 0, 10'000'000);
  const auto cors = server.section("cors");
  cors.allow_only({"enabled", "allowed_origins", "allow_credentials", "max_age"});
  cors.boolean("enabled", cfg.server.cors.enabled);
  cors.boolean("allow_credentials", cfg.server.cors.allow_credentials);
  Duration max_age{cfg.server.cors.max_age_seconds * 1000};
  cors.duration("max_age", max_age, Duration(0));
  cfg.server.cors.max_age_seconds = static_cast<int>(max_age.count() / 1000);
  if (const auto origins = cors.get("allowed_origins"); origins && !origins.IsNull()) {
    if (!origins.IsSequence()) {
      cors.fail(origins, cors.key_path("allowed_origins"), "must be a list of origins or [\"*\"]");
    }
    cfg.server.cors.allowed_origins.clear();
    for (const auto& o : origins) {
      if (!o.IsScalar()) cors.fail(o, cors.key_path("allowed_origins"), "entries must be strings");
      cfg.server.cors.allowed_origins.push_back(o.as<std::string>());
    }
  }
  server.str("host", cfg.server.host);
  server.integer("port", cfg.server.port, 0, 65535);
  server.integer("threads", cfg.server.threads, 0, 256);
  server.one_of("cpu_affinity", cfg.server.cpu_affinity, {"auto", "off"});
  server.duration("header_timeout", cfg.server.header_timeout);
  server.duration("idle_timeout", cfg.server.idle_timeout);
  server.duration("shutdown_timeout", cfg.server.shutdown_timeout, Duration(0));
  const auto limits = server.section("request_limits");
  limits.allow_only({"max_body_size", "max_header_size"});
  limits.size("max_body_size", cfg.server.max_body_size);
  limits.size("max_header_size", cfg.server.max_header_size);
  const auto internal = server.section("internal_access");
  internal.allow_only({"allow_cidrs", "bearer_token"});
  internal.str("bearer_token", cfg.server.internal_token);
  if (const auto cidrs = internal.get("allow_cidrs"); cidrs && !cidrs.IsNull()) {
    if (!cidrs.IsSequence()) {
      internal.fail(cidrs, internal.key_path("allow_cidrs"),
                    "must be a list like [127.0.0.0/8, ::1]");
    }
    for (const auto& c : cidrs) {
      if (!c.IsScalar())
        internal.fail(c, internal.key_path("allow_cidrs"), "entries must be strings");
      cfg.server.internal_allow_cidrs.push_back(c.as<std::string>());
    }
    const auto parsed = observe::AccessPolicy::parse(cfg.server.internal_allow_cidrs);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
      internal.fail(cidrs, internal.key_path("allow_cidrs"), *error);
    }
  }

  const auto proxy = top.section("proxy");
  proxy.allow_only({"load_balancer", "connection_timeout", "response_timeout", "read_timeout",
                    "max_inspect_bytes", "retry", "circuit_breaker"});
  proxy.one_of("load_balancer", cfg.proxy.load_balancer,
               {"priority", "round-robin", "least-connections"});
  proxy.duration("connection_timeout", cfg.proxy.connection_timeout);
  proxy.duration("response_timeout", cfg.proxy.response_timeout);
  proxy.duration("read_timeout", cfg.proxy.read_timeout);
  proxy.size("max_inspect_bytes", cfg.proxy.max_inspect_bytes);
  const auto retry = proxy.section("retry");
  retry.allow_only({"enabled", "max_attempts"});
  retry.boolean("enabled", cfg.proxy.retry_enabled);
  retry.integer("max_attempts", cfg.proxy.retry_max_attempts, 0, 100);
  const auto breaker = proxy.section("circuit_breaker");
  breaker.allow_only({"failure_threshold", "cooldown"});
  breaker.integer("failure_threshold", cfg.proxy.breaker_failure_threshold, 1, 1000);
  breaker.duration("cooldown", cfg.proxy.breaker_cooldown);

  const auto discovery = top.section("discovery");
  discovery.allow_only({"type", "static", "model_discovery"});
  std::string type = "static";
  discovery.one_of("type", type, {"static"});
  const auto md = discovery.section("model_discovery");
  md.allow_only({"enabled", "interval", "timeout"});
  md.boolean("enabled", cfg.discovery.model_discovery_enabled);
  md.duration("interval", cfg.discovery.model_discovery_interval, Duration(1000));
  md.duration("timeout", cfg.discovery.model_discovery_timeout);
  const auto stat = discovery.section("static");
  stat.allow_only({"endpoints"});
  const auto eps = stat.get("endpoints");
  if (eps && !eps.IsNull()) {
    if (!eps.IsSequence()) stat.fail(eps, "discovery.static.endpoints", "must be a list");
    for (std::size_t i = 0; i < eps.size(); ++i) {
      EndpointConfig ep;
      parse_endpoint(Section(eps[i], "discovery.static.endpoints[" + std::to_string(i) + "]", file),
                     ep, cfg);
      for (const auto& other : cfg.discovery.endpoints) {
        if (other.name == ep.name) {
          stat.fail(eps[i], "discovery.static.endpoints[" + std::to_string(i) + "].name",
                    "duplicate endpoint name '" + ep.name + "'");
        }
      }
      cfg.discovery.endpoints.push_back(std::move(ep));
    }
  }

  const auto registry = top.section("model_registry");
  registry.allow_only({"routing_strategy"});
  const auto strategy = registry.section("routing_strategy");
  strategy.allow_only({"type"});
  strategy.one_of("type", cfg.model_registry.routing_strategy, {"optimistic", "strict"});

  const auto logging = top.section("logging");
  logging.allow_only({"level", "format"});
  logging.one_of("level", cfg.logging.level, {"trace", "debug", "info", "warn", "error", "off"});
  logging.one_of("format", cfg.logging.format, {"json", "text"});

  apply_env_overrides(cfg);
  return cfg;
}

YAML::Node load_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
}

}  // namespace

Config load_string(const std::string& yaml, const std::string& source_name) {
  try {
    return parse(load_yaml(yaml, source_name), source_name);
  } catch (const YAML::Exception& e) {
    // A value of the wrong shape deep in a list or map (e.g. a mapping where a string belongs).
    throw ConfigError(source_name + ":" + std::to_string(e.mark.line + 1) +
                      ": a value has the wrong type: " + e.msg);
  }
}

Config load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

std::string default_config_path() {
  if (const char* env = std::getenv("OLLA_CONFIG_FILE"); env && *env) return env;
  return "config/olla.yaml";
}

}  // namespace olla::config
