// Config parsing: config::load_string on arbitrary YAML. A ConfigError is the expected answer to a
// bad config; any other exception escapes main()'s `catch (const ConfigError&)` at start-up and
// ends the daemon with std::terminate, so it is a finding, as is any crash.
//
// Inputs naming a file (token_file, key_file, password_file, tls.ca_file) are skipped: the loader
// opens what they name, and a fuzzer that stumbles on /dev/stdin or /dev/zero would hang or eat
// memory in the harness, not in olla. ${VAR} expands from an environment cleared of OLLA_* and
// given one known variable, so runs are reproducible.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>
#include <vector>

#include "fuzz_common.hpp"
#include "olla/config/config.hpp"

extern char** environ;

namespace {

// True when some mapping key mentions "file"; false when the YAML does not parse (load_string
// then answers with a ConfigError, which is fine to exercise).
bool names_a_file(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (...) {
    return false;
  }
  std::vector<YAML::Node> todo{root};
  std::size_t visited = 0;
  while (!todo.empty()) {
    if (++visited > 20000) return true;  // aliases can make a graph larger than the text: skip
    const YAML::Node n = todo.back();
    todo.pop_back();
    if (n.IsSequence()) {
      for (const auto& child : n) todo.push_back(child);
    } else if (n.IsMap()) {
      for (const auto& kv : n) {
        if (kv.first.IsScalar() && kv.first.Scalar().find("file") != std::string::npos) return true;
        todo.push_back(kv.first);
        todo.push_back(kv.second);
      }
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::vector<std::string> olla_vars;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("OLLA_", 0) == 0) olla_vars.push_back(kv.substr(0, kv.find('=')));
  }
  for (const auto& v : olla_vars) ::unsetenv(v.c_str());
  ::setenv("FUZZ_KEY", "sk-fuzz", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  if (names_a_file(yaml)) return 0;
  try {
    const auto cfg = olla::config::load_string(yaml, "fuzz.yaml");
    // A config that loads is usable: the invariants the daemon relies on.
    for (const auto& ep : cfg.discovery.endpoints) {
      FUZZ_CHECK(ep.scheme == "http" || ep.scheme == "https");
      FUZZ_CHECK(!ep.host.empty() && ep.port > 0);
      FUZZ_CHECK(ep.base_path.empty() ||
                 (ep.base_path.front() == '/' && ep.base_path.back() != '/'));
      FUZZ_CHECK(!ep.model_url.empty() && ep.model_url.front() == '/');
      FUZZ_CHECK(!ep.health_check_url.empty() && ep.health_check_url.front() == '/');
    }
    FUZZ_CHECK(cfg.server.max_body_size > 0 && cfg.server.max_header_size > 0);
    FUZZ_CHECK(cfg.server.cors.max_age_seconds >= 0);
  } catch (const olla::config::ConfigError&) {
    // the expected answer to a bad config
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_string threw %s (not a ConfigError): %s\n", typeid(e).name(),
                 e.what());
    std::abort();
  }
  return 0;
}
