// olla: flag parsing and start-up only.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "olla/config/config.hpp"
#include "olla/observe/access_log.hpp"
#include "olla/server/gateway.hpp"

namespace {

void usage() {
  std::cout
      << "olla " OLLA_VERSION
         " - an LLM gateway in front of a pool of LiteLLM proxies\n\n"
         "Usage: olla [options]\n"
         "  -c, --config FILE     config file (default: $OLLA_CONFIG_FILE, else config/olla.yaml)\n"
         "      --validate-config check the config and exit (0 when valid)\n"
         "      --version         print the version and exit\n"
         "  -h, --help            this text\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool validate_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    }
    if (arg == "--version") {
      std::cout << "olla " OLLA_VERSION "\n";
      return 0;
    }
    if (arg == "--validate-config") {
      validate_only = true;
    } else if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else {
      std::cerr << "olla: unknown option '" << arg << "' (see --help)\n";
      return 2;
    }
  }
  if (config_path.empty()) config_path = olla::config::default_config_path();

  olla::config::Config cfg;
  try {
    cfg = olla::config::load_file(config_path);
  } catch (const std::exception& e) {  // ConfigError names file, line and key
    std::cerr << "olla: invalid config: " << e.what() << "\n";
    return 1;
  }
  if (validate_only) {
    for (const auto& w : cfg.warnings) std::cerr << "warning: " << w << "\n";
    std::cout << "config " << config_path << " is valid (" << cfg.discovery.endpoints.size()
              << " endpoint(s))\n";
    return 0;
  }

  // A one-worker daemon starts no thread, not even for its log (see Gateway::run_until_signal).
  const bool one_thread = olla::server::Gateway::worker_count(cfg) == 1;
  olla::observe::setup_logging(cfg.logging.level, cfg.logging.format, !one_thread);
  for (const auto& w : cfg.warnings) spdlog::warn("{}", w);
  if (cfg.discovery.endpoints.empty())
    spdlog::warn("no endpoints configured: every request gets 503");
  try {
    olla::server::Gateway gateway(cfg);
    gateway.run_until_signal([&] { return olla::config::load_file(config_path); });
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    spdlog::shutdown();
    std::cerr << "olla: " << e.what() << "\n";
    return 1;
  }
  spdlog::shutdown();
  return 0;
}
