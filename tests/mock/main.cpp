// mock-litellm: command-line front end of olla::mock::MockLiteLLM.
#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "mock_litellm.hpp"

namespace {

constexpr const char* kUsage =
    "usage: mock-litellm [--host H] [--port P] [--name N] [--models id=provider,id2,...]\n"
    "                    [--chunks N] [--chunk-delay-ms D] [--threads T] [--no-model-info]\n"
    "                    [--tls-cert FILE --tls-key FILE] [--help]\n"
    "\n"
    "A mock LiteLLM proxy (no database). Defaults: --host 127.0.0.1 --port 4000 --chunks 5\n"
    "--chunk-delay-ms 0 --threads 1. A model given without '=provider' is served by /v1/models\n"
    "but not listed in /model/info. With --tls-cert (PEM chain, leaf first) and --tls-key (PEM\n"
    "private key) it serves HTTPS only. Runs until SIGINT/SIGTERM.\n";

bool parse_int(std::string_view s, long lo, long hi, long& out) {
  long v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

std::vector<olla::mock::MockModel> parse_models(std::string_view s) {
  std::vector<olla::mock::MockModel> models;
  while (!s.empty()) {
    auto comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      models.push_back({std::string(item), ""});
    else
      models.push_back({std::string(item.substr(0, eq)), std::string(item.substr(eq + 1))});
  }
  return models;
}

int usage_error(const std::string& msg) {
  std::cerr << "mock-litellm: " << msg << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  olla::mock::MockOptions opts;
  opts.port = 4000;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view& v) {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    std::string_view v;
    long n = 0;
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--no-model-info") {
      opts.serve_model_info = false;
    } else if (a == "--host") {
      if (!value(v) || v.empty()) return usage_error("--host needs a value");
      opts.host = v;
    } else if (a == "--port") {
      if (!value(v) || !parse_int(v, 0, 65535, n)) return usage_error("--port needs 0..65535");
      opts.port = static_cast<unsigned short>(n);
    } else if (a == "--name") {
      if (!value(v) || v.empty()) return usage_error("--name needs a value");
      opts.name = v;
    } else if (a == "--models") {
      if (!value(v)) return usage_error("--models needs a value");
      opts.models = parse_models(v);
    } else if (a == "--chunks") {
      if (!value(v) || !parse_int(v, 0, 1000000, n))
        return usage_error("--chunks needs 0..1000000");
      opts.chunks = static_cast<int>(n);
    } else if (a == "--chunk-delay-ms") {
      if (!value(v) || !parse_int(v, 0, 3600000, n))
        return usage_error("--chunk-delay-ms needs 0..3600000");
      opts.chunk_delay_ms = static_cast<int>(n);
    } else if (a == "--threads") {
      if (!value(v) || !parse_int(v, 1, 256, n)) return usage_error("--threads needs 1..256");
      opts.threads = static_cast<int>(n);
    } else if (a == "--tls-cert") {
      if (!value(v) || v.empty()) return usage_error("--tls-cert needs a file");
      opts.tls_cert_file = v;
    } else if (a == "--tls-key") {
      if (!value(v) || v.empty()) return usage_error("--tls-key needs a file");
      opts.tls_key_file = v;
    } else {
      return usage_error("unknown argument " + std::string(a));
    }
  }

  if (opts.tls_cert_file.empty() != opts.tls_key_file.empty())
    return usage_error("--tls-cert and --tls-key go together");

  // Block the termination signals in every thread (the io threads inherit the mask) and take
  // them synchronously below. A shell starts background jobs with SIGINT ignored, and an ignored
  // signal is discarded rather than left pending, so restore the default disposition first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  olla::mock::MockLiteLLM mock(opts);
  unsigned short port = 0;
  try {
    port = mock.start();
  } catch (const std::exception& e) {
    std::cerr << "mock-litellm: cannot start on " << opts.host << ":" << opts.port << ": "
              << e.what() << "\n";
    return 1;
  }
  const char* scheme = opts.tls_cert_file.empty() ? "http" : "https";
  std::cout << "mock-litellm listening on " << scheme << "://" << opts.host << ":" << port
            << std::endl;

  int sig = 0;
  while (sigwait(&sigs, &sig) != 0) {
  }
  mock.stop();
  return 0;
}
