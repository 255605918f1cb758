// A mock LiteLLM proxy (no database) for the gateway's tests, demo and benchmarks.
//
// Beast-free on purpose: the implementation lives behind a pimpl in mock_litellm.cpp so that
// tests including this header compile fast.
//
// Routes (with and without the /v1 prefix where LiteLLM accepts both):
//   GET  /health/liveliness, /health/liveness, /health/readiness, /health
//   GET  /v1/models, /v1/model/info
//   POST /v1/chat/completions, /v1/completions, /v1/embeddings   ("stream": true => SSE)
//   POST /key/generate, GET /key/info, /user/info, /team/info, GET|POST /spend/calculate
//        => 500 "No connected db."
//   GET  /mock/stats, POST /mock/fail {"mode": "..."}, POST /mock/reset   (not counted)
//
// TLS: with tls_cert_file and tls_key_file both set, the mock serves HTTPS only (every route,
// failure mode and counter as over plain TCP). A peer's TLS close_notify counts as a hang-up.
//
// Per-request overrides (request headers): x-mock-chunks, x-mock-delay-ms, x-mock-fail.
// Failure modes: "" (off), "429", "no-deployments", "500", "401", "midstream", "reset", "hang",
// "slow-headers". The x-mock-fail header wins over the global mode.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace olla::mock {

struct MockModel {
  std::string id;
  std::string provider;  // "" => not listed in /model/info
};

struct MockOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;            // 0 = OS picks
  std::string name = "mock-litellm";  // sent as the Server header
  std::vector<MockModel> models = {{"gpt-4", "openai"},
                                   {"claude-3-opus", "anthropic"},
                                   {"gemini-pro", "google"},
                                   {"llama-70b", "together_ai"},
                                   {"text-embedding-ada-002", "openai"}};
  bool serve_model_info = true;  // false => /model/info answers 404 like an old LiteLLM
  int chunks = 5;                // content chunks per stream
  int chunk_delay_ms = 0;        // delay between stream frames
  int threads = 1;               // io threads (one io_context each, one shared acceptor)
  // PEM certificate chain (leaf first) and private key. Both set => HTTPS only; one alone makes
  // start() throw std::invalid_argument.
  std::string tls_cert_file, tls_key_file;
};

class MockLiteLLM {
 public:
  explicit MockLiteLLM(MockOptions opts = {});
  ~MockLiteLLM();  // stops
  MockLiteLLM(const MockLiteLLM&) = delete;
  MockLiteLLM& operator=(const MockLiteLLM&) = delete;

  // Binds and listens (throws on failure), runs on its own thread(s), returns the bound port.
  // Calling it while running returns the current port.
  unsigned short start();
  // Idempotent; closes every socket and joins the threads.
  void stop();
  unsigned short port() const;

  std::uint64_t requests() const;  // requests received (all routes, /mock/* excluded)
  // Chat completion, completion and embedding requests received: not the gateway's health
  // probes and model discovery, which may still be arriving when a test starts counting.
  std::uint64_t llm_requests() const;
  std::uint64_t disconnects() const;  // peer hung up while a response was being produced
  std::chrono::steady_clock::time_point last_disconnect() const;  // epoch if none yet
  std::uint64_t completed_streams() const;  // streams sent to the end ([DONE] included)
  // HTTPS mode: TLS handshakes completed and failed, and the SNI host name the client sent in the
  // last completed one ("" if none or without SNI, as for an IP address).
  std::uint64_t tls_handshakes() const;
  std::uint64_t tls_handshake_failures() const;
  std::string tls_server_name() const;
  // {"method","target","headers":{lowercased name: value},"body": raw body string,
  //  "json": body parsed as JSON or null} of the last non-/mock request; null if none yet.
  nlohmann::json last_request() const;
  // Global failure mode applied to every non-/mock route, health included. "" = off.
  // Throws std::invalid_argument for an unknown mode.
  void set_fail_mode(const std::string& mode);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace olla::mock
