// https upstreams: the gateway in front of the mock LiteLLM serving TLS with throwaway
// certificates. Verification on (the endpoint's CA file), off, system trust, a foreign CA, a host
// name the certificate does not cover, an impostor on the proxy path, and a hang-up over TLS.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "mock_litellm.hpp"
#include "olla/config/config.hpp"
#include "olla/server/gateway.hpp"
#include "tls_certs.hpp"

namespace olla::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kChat = "/olla/litellm/v1/chat/completions";

struct Endpoint {
  std::string name;
  std::string url;
  std::vector<std::string> tls;  // "key: value" lines under tls:, none => no tls section
  std::string check_interval = "200ms";
};

// A gateway of its own (one worker thread) in front of the given endpoints.
class TlsGateway {
 public:
  explicit TlsGateway(const std::vector<Endpoint>& endpoints) {
    spdlog::set_level(std::getenv("OLLA_TEST_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
    std::string yaml =
        "server:\n  host: 127.0.0.1\n  port: 0\n  threads: 1\n"
        "logging:\n  level: warn\n  format: text\n"
        "discovery:\n  static:\n    endpoints:\n";
    for (const auto& ep : endpoints) {
      yaml += "      - url: " + ep.url + "\n";
      yaml += "        name: " + ep.name + "\n";
      yaml += "        type: litellm\n";
      yaml += "        check_interval: " + ep.check_interval + "\n";
      yaml += "        check_timeout: 1s\n";
      if (!ep.tls.empty()) {
        yaml += "        tls:\n";
        for (const auto& line : ep.tls) yaml += "          " + line + "\n";
      }
    }
    gw_ = std::make_unique<server::Gateway>(config::load_string(yaml, "tls_test.yaml"));
    port_ = gw_->start();
  }
  ~TlsGateway() { gw_->stop(); }
  TlsGateway(const TlsGateway&) = delete;
  TlsGateway& operator=(const TlsGateway&) = delete;

  std::uint16_t port() const { return port_; }

  json health() const {
    return json::parse(request(port_, "GET", "/olla/litellm/health").body, nullptr, false);
  }

  // Polls /olla/litellm/health until `n` endpoints are healthy with models (bounded).
  bool wait_healthy(std::size_t n, std::chrono::milliseconds timeout = 10s) const {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto j = health();
      if (j.is_object() && j["endpoints"]["healthy"] == n && j["models"].get<int>() > 0)
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // True when no endpoint became healthy during `period` (many probes at 200 ms).
  bool stays_unhealthy(std::chrono::milliseconds period = 1500ms) const {
    const auto deadline = Clock::now() + period;
    while (Clock::now() < deadline) {
      auto j = health();
      if (!j.is_object() || j["endpoints"]["healthy"] != 0 || j["models"] != 0) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

 private:
  std::unique_ptr<server::Gateway> gw_;
  std::uint16_t port_ = 0;
};

mock::MockOptions tls_mock(const TlsCerts& certs, const std::string& host = "127.0.0.1",
                           unsigned short port = 0) {
  mock::MockOptions o;
  o.host = host;
  o.port = port;
  o.tls_cert_file = certs.cert_file();
  o.tls_key_file = certs.key_file();
  return o;
}

std::string https(const std::string& host, unsigned short port) {
  return "https://" + host + ":" + std::to_string(port);
}

std::string ca(const TlsCerts& certs) { return "ca_file: \"" + certs.ca_file() + "\""; }

// Discovery, a completion and a stream through an endpoint that is healthy over TLS.
void expect_proxied_over_tls(const TlsGateway& gw, mock::MockLiteLLM& mock,
                             const std::string& endpoint, const std::string& host_header) {
  // Models were discovered over TLS: /v1/models for the ids, /model/info for the providers.
  auto models =
      json::parse(request(gw.port(), "GET", "/olla/litellm/v1/models").body, nullptr, false);
  ASSERT_TRUE(models.is_object()) << models;
  std::set<std::string> ids;
  for (const auto& m : models["data"]) {
    ids.insert(m["id"].get<std::string>());
    if (m["id"] == "claude-3-opus") {
      EXPECT_EQ(m["owned_by"], "anthropic");
    }
  }
  EXPECT_EQ(ids, (std::set<std::string>{"gpt-4", "claude-3-opus", "gemini-pro", "llama-70b",
                                        "text-embedding-ada-002"}));

  const auto completed = mock.completed_streams();
  // Several in a row: the later ones may ride a pooled TLS connection.
  for (int i = 0; i < 3; ++i) {
    auto r = request(gw.port(), "POST", kChat, chat_body("gpt-4", false));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-olla-endpoint"), endpoint);
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_FALSE(j["choices"][0]["message"]["content"].get<std::string>().empty());
  }
  auto last = mock.last_request();
  EXPECT_EQ(last["target"], "/v1/chat/completions");
  EXPECT_EQ(last["headers"]["host"], host_header);

  auto s = stream(gw.port(), kChat, chat_body("gpt-4", true, true));
  ASSERT_EQ(s.head.status, 200) << s.error << s.head.body;
  EXPECT_TRUE(s.complete) << s.error;
  EXPECT_EQ(s.head.header("content-type"), "text/event-stream");
  EXPECT_EQ(s.head.header("x-olla-endpoint"), endpoint);
  ASSERT_GE(s.frames.size(), 4u);
  EXPECT_EQ(s.frames.back().data, "data: [DONE]");
  std::string text;
  for (const auto& f : s.frames) {
    ASSERT_EQ(f.data.rfind("data: ", 0), 0u) << f.data;
    if (f.data == "data: [DONE]") continue;
    auto j = json::parse(f.data.substr(6));
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content"))
      text += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "Quantum computing uses qubits that");
  EXPECT_EQ(mock.completed_streams(), completed + 1);
  EXPECT_EQ(mock.tls_handshake_failures(), 0u);
}

// The gateway reached the server, refused its certificate, and never sent it a request; a client
// gets the gateway's own JSON error, nothing from the untrusted server.
void expect_refused(const TlsGateway& gw, mock::MockLiteLLM& mock) {
  EXPECT_TRUE(gw.stays_unhealthy()) << gw.health();
  EXPECT_GT(mock.tls_handshake_failures(), 0u) << "the gateway never tried the TLS handshake";
  for (const bool streamed : {false, true}) {
    auto r = request(gw.port(), "POST", kChat, chat_body("gpt-4", streamed));
    EXPECT_TRUE(r.status == 503 || r.status == 502) << r.status << " " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json");
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j["error"]["type"] == "no_healthy_endpoints" ||
                j["error"]["type"] == "upstream_error")
        << r.body;
    EXPECT_EQ(r.body.find("chatcmpl"), std::string::npos) << r.body;
  }
  EXPECT_EQ(mock.requests(), 0u) << "a request reached the untrusted server";
  EXPECT_TRUE(mock.last_request().is_null());
}

TEST(TlsCerts, WritesPemFilesAndRemovesThem) {
  std::string dir;
  {
    TlsCerts certs;
    dir = certs.dir();
    for (const auto& f : {certs.ca_file(), certs.cert_file(), certs.key_file()}) {
      std::FILE* fp = std::fopen(f.c_str(), "r");
      ASSERT_NE(fp, nullptr) << f;
      char line[64] = {};
      ASSERT_NE(std::fgets(line, sizeof line, fp), nullptr);
      std::fclose(fp);
      EXPECT_EQ(std::string(line).rfind("-----BEGIN ", 0), 0u) << f << ": " << line;
    }
    TlsCerts other;
    EXPECT_NE(other.dir(), dir);
  }
  EXPECT_EQ(std::fopen((dir + "/ca.pem").c_str(), "r"), nullptr);
}

TEST(TlsMock, NeedsBothCertificateAndKey) {
  TlsCerts certs;
  mock::MockOptions o;
  o.tls_cert_file = certs.cert_file();
  mock::MockLiteLLM m(o);
  EXPECT_THROW(m.start(), std::invalid_argument);
  mock::MockOptions bad;
  bad.tls_cert_file = certs.dir() + "/missing.pem";
  bad.tls_key_file = certs.key_file();
  mock::MockLiteLLM m2(bad);
  EXPECT_ANY_THROW(m2.start());
}

TEST(TlsUpstream, VerifiedByHostName) {
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-localhost", https("localhost", port), {ca(certs)}}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  expect_proxied_over_tls(gw, mock, "tls-localhost", "localhost:" + std::to_string(port));
  EXPECT_EQ(mock.tls_server_name(), "localhost");  // SNI
}

TEST(TlsUpstream, VerifiedByIpAddress) {
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-ip", https("127.0.0.1", port), {ca(certs), "verify: true"}}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  expect_proxied_over_tls(gw, mock, "tls-ip", "127.0.0.1:" + std::to_string(port));
  EXPECT_GT(mock.tls_handshakes(), 0u);
  EXPECT_EQ(mock.tls_server_name(), "");  // no SNI for an IP address (RFC 6066)
}

TEST(TlsUpstream, BothEndpointsHealthyTogether) {
  TlsCerts certs;
  mock::MockLiteLLM a(tls_mock(certs)), b(tls_mock(certs));
  const auto pa = a.start(), pb = b.start();
  TlsGateway gw({{"tls-a", https("localhost", pa), {ca(certs)}},
                 {"tls-b", https("127.0.0.1", pb), {ca(certs)}}});
  ASSERT_TRUE(gw.wait_healthy(2)) << gw.health();
  for (int i = 0; i < 4; ++i) {
    auto r = request(gw.port(), "POST", kChat, chat_body("gpt-4", false));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.header("x-olla-endpoint") == "tls-a" || r.header("x-olla-endpoint") == "tls-b");
  }
  EXPECT_EQ(a.tls_handshake_failures() + b.tls_handshake_failures(), 0u);
}

TEST(TlsUpstream, PooledConnectionsAreReused) {
  // Probes far apart: after discovery, only the proxied requests open connections.
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-pool", https("localhost", port), {ca(certs)}, "60s"}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  const auto handshakes = mock.tls_handshakes();
  for (int i = 0; i < 5; ++i) {
    auto r = request(gw.port(), "POST", kChat, chat_body("gpt-4", i % 2 == 1));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(mock.tls_handshakes(), handshakes + 1) << "one handshake, then keep-alive";
}

TEST(TlsUpstream, SystemTrustRejectsAPrivateCa) {
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-system", https("localhost", port), {}}});
  expect_refused(gw, mock);
}

TEST(TlsUpstream, ForeignCaRejected) {
  TlsCerts certs, foreign;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-foreign", https("localhost", port), {ca(foreign)}}});
  expect_refused(gw, mock);
}

TEST(TlsUpstream, VerifyFalseAcceptsAnUntrustedServer) {
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-noverify", https("localhost", port), {"verify: false"}}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  expect_proxied_over_tls(gw, mock, "tls-noverify", "localhost:" + std::to_string(port));
}

TEST(TlsUpstream, HostNameNotInTheCertificateFails) {
  // The certificate names localhost and 127.0.0.1; the endpoint is addressed as 127.0.0.2.
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs, "127.0.0.2"));
  const auto port = mock.start();
  {
    TlsGateway gw({{"tls-wrong-ip", https("127.0.0.2", port), {ca(certs)}}});
    expect_refused(gw, mock);
  }
  // Same server, same CA, verification off: reachable, so the name was the only problem.
  TlsGateway gw({{"tls-wrong-ip-noverify", https("127.0.0.2", port), {"verify: false"}}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  auto r = request(gw.port(), "POST", kChat, chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(TlsUpstream, DnsOnlyCertificateDoesNotCoverTheIp) {
  TlsCerts certs({"localhost"}, {});
  mock::MockLiteLLM by_ip(tls_mock(certs));
  TlsGateway gw({{"tls-ip-not-in-san", https("127.0.0.1", by_ip.start()), {ca(certs)}}});
  expect_refused(gw, by_ip);
  // The same certificate addressed by its DNS name is fine.
  mock::MockLiteLLM by_name(tls_mock(certs));
  TlsGateway ok({{"tls-dns", https("localhost", by_name.start()), {ca(certs)}}});
  ASSERT_TRUE(ok.wait_healthy(1)) << ok.health();
  EXPECT_EQ(request(ok.port(), "POST", kChat, chat_body("gpt-4", false)).status, 200);
}

TEST(TlsUpstream, ProxyPathRefusesAnImpostor) {
  // Healthy first; then another server takes the port with a certificate from another CA. The
  // probes are far apart, so the next request meets the impostor on the proxy path itself.
  TlsCerts certs, foreign;
  auto genuine = std::make_unique<mock::MockLiteLLM>(tls_mock(certs));
  const auto port = genuine->start();
  TlsGateway gw({{"tls-impostor", https("localhost", port), {ca(certs)}, "60s"}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  ASSERT_EQ(request(gw.port(), "POST", kChat, chat_body("gpt-4", false)).status, 200);
  genuine.reset();
  mock::MockLiteLLM impostor(tls_mock(foreign, "127.0.0.1", port));
  ASSERT_EQ(impostor.start(), port);

  auto r = request(gw.port(), "POST", kChat, chat_body("gpt-4", false));
  EXPECT_EQ(r.status, 502) << r.body;
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["type"], "upstream_error") << r.body;
  EXPECT_NE(j["error"]["message"].get<std::string>().find("certificate verification failed"),
            std::string::npos)
      << r.body;
  auto s = stream(gw.port(), kChat, chat_body("gpt-4", true));
  EXPECT_TRUE(s.head.status == 502 || s.head.status == 503) << s.head.status;
  EXPECT_EQ(s.head.body.find("chatcmpl"), std::string::npos) << s.head.body;
  EXPECT_EQ(impostor.requests(), 0u) << "a request reached the impostor";
  // The gateway answers as soon as it rejects the certificate; the server notices a moment later.
  const auto deadline = Clock::now() + 3s;
  while (impostor.tls_handshake_failures() == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  EXPECT_GT(impostor.tls_handshake_failures(), 0u);
  EXPECT_EQ(impostor.tls_handshakes(), 0u);
}

TEST(TlsUpstream, ClientHangUpMidStreamReachesTheBackend) {
  TlsCerts certs;
  mock::MockLiteLLM mock(tls_mock(certs));
  const auto port = mock.start();
  TlsGateway gw({{"tls-hangup", https("localhost", port), {ca(certs)}}});
  ASSERT_TRUE(gw.wait_healthy(1)) << gw.health();
  const auto before = mock.disconnects();
  auto s = stream(gw.port(), kChat, chat_body("gpt-4", true),
                  {{"x-mock-delay-ms", "1000"}, {"x-mock-chunks", "20"}},
                  /*stop_after_frames=*/1);
  const auto closed_at = Clock::now();
  ASSERT_EQ(s.head.status, 200) << s.error;
  ASSERT_EQ(s.frames.size(), 1u) << s.error;
  const auto deadline = closed_at + 3s;
  while (mock.disconnects() == before && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  ASSERT_GT(mock.disconnects(), before) << "the backend never saw the hang-up";
  // Seen by the watcher, not at the next frame's write a second later.
  const auto seen_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(mock.last_disconnect() - closed_at);
  EXPECT_LT(seen_after.count(), 500)
      << "the backend kept generating for " << seen_after.count() << " ms";
  EXPECT_EQ(mock.completed_streams(), 0u);
  // The endpoint stays healthy and serves the next request over TLS.
  EXPECT_EQ(request(gw.port(), "POST", kChat, chat_body("gpt-4", false)).status, 200);
}

}  // namespace
}  // namespace olla::test
