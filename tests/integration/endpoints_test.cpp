// Every endpoint of the seed page, through the gateway to the mock LiteLLM, and the headers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "harness.hpp"

namespace olla::test {
namespace {

using nlohmann::json;

class Endpoints : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(stack.wait_healthy(1)); }
  // Probes far apart (the first one runs at start): a periodic probe landing between a request
  // and the test's look at the mock's last_request() would replace what the test checks.
  Stack stack{{mock::MockOptions{}}, "", "60s"};
};

void expect_olla_headers(const Response& r, const std::string& model) {
  EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
  EXPECT_EQ(r.header("x-olla-backend-type"), "litellm");
  if (model.empty()) {
    EXPECT_FALSE(r.has("x-olla-model"));
  } else {
    EXPECT_EQ(r.header("x-olla-model"), model);
  }
  EXPECT_TRUE(std::regex_match(r.header("x-olla-request-id"), std::regex("req_[0-9a-f]{32}")))
      << r.header("x-olla-request-id");
  EXPECT_TRUE(std::regex_match(r.header("x-olla-response-time"), std::regex(R"(\d+\.\d{3}s)")))
      << r.header("x-olla-response-time");
}

TEST_F(Endpoints, ChatCompletion) {
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gpt-4");
  EXPECT_FALSE(j["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_GT(j["usage"]["total_tokens"].get<int>(), 0);
  expect_olla_headers(r, "gpt-4");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(std::to_string(r.body.size()), r.header("content-length"));
  EXPECT_EQ(stack.mock().last_request()["target"], "/v1/chat/completions");
}

TEST_F(Endpoints, UnprefixedPathsPassThrough) {
  auto r = request(stack.port(), "POST", "/olla/litellm/chat/completions",
                   chat_body("claude-3-opus", false));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(stack.mock().last_request()["target"], "/chat/completions");
  expect_olla_headers(r, "claude-3-opus");
}

TEST_F(Endpoints, TextCompletion) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/completions",
                   R"({"model":"gpt-4","prompt":"Say hi","max_tokens":5})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_TRUE(j["choices"][0].contains("text"));
  expect_olla_headers(r, "gpt-4");
}

TEST_F(Endpoints, Embeddings) {
  auto r = request(
      stack.port(), "POST", "/olla/litellm/v1/embeddings",
      R"({"model":"text-embedding-ada-002","input":"The quick brown fox jumps over the lazy dog"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["data"][0]["object"], "embedding");
  EXPECT_FALSE(j["data"][0]["embedding"].empty());
  EXPECT_EQ(j["model"], "text-embedding-ada-002");
  expect_olla_headers(r, "text-embedding-ada-002");
}

TEST_F(Endpoints, ModelsAreTheUnionWithRealProviders) {
  for (const char* path : {"/olla/litellm/v1/models", "/olla/litellm/models"}) {
    auto r = request(stack.port(), "GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.has("x-olla-request-id"));
    auto j = json::parse(r.body);
    EXPECT_EQ(j["object"], "list");
    std::map<std::string, std::string> owned;
    for (const auto& m : j["data"]) {
      EXPECT_EQ(m["object"], "model");
      EXPECT_TRUE(m["created"].is_number_integer());
      owned[m["id"]] = m["owned_by"];
    }
    EXPECT_EQ(owned.size(), 5u);
    EXPECT_EQ(owned["gpt-4"], "openai");
    EXPECT_EQ(owned["claude-3-opus"], "anthropic");
    EXPECT_EQ(owned["gemini-pro"], "google");
    EXPECT_EQ(owned["llama-70b"], "together_ai");
  }
}

TEST(EndpointsNoModelInfo, ProviderFallsBackToNameFamily) {
  mock::MockOptions o;
  o.serve_model_info = false;
  o.models = {{"gpt-4", ""}, {"claude-3-haiku", ""}, {"bedrock/mistral-7b", ""}, {"mystery", ""}};
  Stack stack({o});
  ASSERT_TRUE(stack.wait_healthy(1));
  auto j = json::parse(request(stack.port(), "GET", "/olla/litellm/v1/models").body);
  std::map<std::string, std::string> owned;
  for (const auto& m : j["data"]) owned[m["id"]] = m["owned_by"];
  EXPECT_EQ(owned["gpt-4"], "openai");
  EXPECT_EQ(owned["claude-3-haiku"], "anthropic");
  EXPECT_EQ(owned["bedrock/mistral-7b"], "bedrock");
  EXPECT_EQ(owned["mystery"], "openai");  // the backend's own owned_by, last resort
}

TEST_F(Endpoints, HealthInSeedShape) {
  auto r = request(stack.port(), "GET", "/olla/litellm/health");
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_EQ(j["models"], 5);
  EXPECT_EQ(j["providers"], json::parse(R"(["anthropic","google","openai","together_ai"])"));
  EXPECT_EQ(j["endpoints"]["healthy"], 1);
  EXPECT_EQ(j["endpoints"]["total"], 1);
}

TEST_F(Endpoints, ProbesPassThrough) {
  for (const char* p : {"/health/liveliness", "/health/liveness"}) {
    auto r = request(stack.port(), "GET", std::string("/olla/litellm") + p);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "\"I'm alive!\"");
    EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
  }
  auto r = request(stack.port(), "GET", "/olla/litellm/health/readiness");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "healthy");
}

TEST_F(Endpoints, DatabaseEndpointsKeepLiteLLMsAnswer) {
  const std::vector<std::pair<std::string, std::string>> routes = {{"POST", "/key/generate"},
                                                                   {"GET", "/key/info?key=sk-1"},
                                                                   {"GET", "/user/info"},
                                                                   {"GET", "/team/info"},
                                                                   {"GET", "/spend/calculate"}};
  for (const auto& [method, path] : routes) {
    auto r = request(stack.port(), method, "/olla/litellm" + path, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 500) << path;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["error"]["message"], "No connected db.");
    EXPECT_EQ(j["error"]["endpoint"], "litellm-gateway");
    EXPECT_EQ(stack.mock().last_request()["target"], path) << "query string kept";
  }
}

TEST_F(Endpoints, RequestIdHonouredOrMinted) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                   chat_body("gpt-4", false), {{"X-Request-ID", "client-id-42"}});
  EXPECT_EQ(r.header("x-olla-request-id"), "client-id-42");
  EXPECT_EQ(stack.mock().last_request()["headers"]["x-request-id"], "client-id-42");

  r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false),
              {{"X-Request-ID", std::string(129, 'a')}});
  EXPECT_TRUE(std::regex_match(r.header("x-olla-request-id"), std::regex("req_[0-9a-f]{32}")));
  EXPECT_EQ(stack.mock().last_request()["headers"]["x-request-id"], r.header("x-olla-request-id"));
}

TEST_F(Endpoints, UpstreamSeesRewrittenHeaders) {
  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false),
              {{"Authorization", "Bearer sk-virtual-key"},
               {"Host", "gateway.example:40114"},
               {"Connection", "keep-alive, X-Hop-Secret"},
               {"X-Hop-Secret", "must not pass"},
               {"Keep-Alive", "timeout=5"},
               {"Proxy-Authorization", "Basic abc"},
               {"TE", "trailers"},
               {"X-Forwarded-For", "10.1.2.3"},
               {"X-Custom", "kept"}});
  ASSERT_EQ(r.status, 200);
  auto h = stack.mock().last_request()["headers"];
  EXPECT_EQ(h["authorization"], "Bearer sk-virtual-key");
  EXPECT_EQ(h["host"], "127.0.0.1:" + std::to_string(stack.mock().port()));
  EXPECT_EQ(h["x-forwarded-for"], "10.1.2.3, 127.0.0.1");
  EXPECT_EQ(h["x-forwarded-proto"], "http");
  EXPECT_EQ(h["x-forwarded-host"], "gateway.example:40114");
  EXPECT_EQ(h["x-custom"], "kept");
  for (const char* gone : {"x-hop-secret", "keep-alive", "proxy-authorization", "te"}) {
    EXPECT_FALSE(h.contains(gone)) << gone;
  }
  EXPECT_EQ(stack.mock().last_request()["json"]["model"], "gpt-4") << "body unchanged";
}

TEST_F(Endpoints, LargeBodyIsStreamedIntact) {
  // Over max_inspect_bytes (1 MiB): routed without reading the model, body streamed whole.
  std::string big(3u << 20, 'x');
  const std::string body =
      R"({"model":"gpt-4","messages":[{"role":"user","content":")" + big + R"("}]})";
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(stack.mock().last_request()["body"].get<std::string>().size(), body.size());
  EXPECT_FALSE(r.has("x-olla-model"));
}

TEST_F(Endpoints, ChunkedRequestBodyForwarded) {
  const std::string body = chat_body("gpt-4", false);
  std::string raw =
      "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  const auto half = body.size() / 2;
  char size1[32], size2[32];
  std::snprintf(size1, sizeof size1, "%zx", half);
  std::snprintf(size2, sizeof size2, "%zx", body.size() - half);
  raw += std::string(size1) + "\r\n" + body.substr(0, half) + "\r\n" + size2 + "\r\n" +
         body.substr(half) + "\r\n0\r\n\r\n";
  auto out = raw_exchange(stack.port(), raw);
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("X-Olla-Model: gpt-4"), std::string::npos) << out;
  EXPECT_EQ(stack.mock().last_request()["body"], body);
  // Read whole (it is under max_inspect_bytes), it goes upstream with its length, not chunked.
  auto h = stack.mock().last_request()["headers"];
  EXPECT_EQ(h["content-length"], std::to_string(body.size())) << h.dump();
  EXPECT_FALSE(h.contains("transfer-encoding")) << h.dump();
}

TEST_F(Endpoints, Http10ClientGetsAStreamWithoutChunksAndTheConnectionCloses) {
  // HTTP/1.0 has no chunked coding: a stream of unknown length ends with the connection.
  const std::string body = chat_body("gpt-4", true);
  const std::string raw =
      "POST /olla/litellm/v1/chat/completions HTTP/1.0\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  auto out = raw_exchange(stack.port(), raw);
  const auto head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << out;
  const std::string head = out.substr(0, head_end);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
  const std::string rest = out.substr(head_end + 4);
  EXPECT_EQ(rest.rfind("data: {", 0), 0u) << rest.substr(0, 80);  // no chunk-size line
  EXPECT_NE(rest.find("data: [DONE]"), std::string::npos) << rest;
}

TEST_F(Endpoints, KeepAliveServesManyRequestsOnOneConnection) {
  std::string raw;
  for (int i = 0; i < 3; ++i) {
    raw += "GET /olla/litellm/health/liveliness HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  raw += "GET /olla/litellm/health/liveliness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto out = raw_exchange(stack.port(), raw);
  std::size_t count = 0;
  for (auto pos = out.find("HTTP/1.1 200"); pos != std::string::npos;
       pos = out.find("HTTP/1.1 200", pos + 1))
    ++count;
  EXPECT_EQ(count, 4u) << out;
}

// A connection keeps its request-body buffer (up to 4 KB of it) and request id between requests:
// each request must carry only its own body (one too large to keep, a shorter one, a shorter one
// still) and get a fresh id.
TEST_F(Endpoints, EachRequestOnAKeptAliveConnectionForwardsOnlyItsOwnBody) {
  const auto body_of = [](std::size_t n) {
    return R"({"model":"gpt-4","messages":[{"role":"user","content":")" + std::string(n, 'a') +
           R"("}]})";
  };
  const std::string short_body = R"({"model":"gpt-4","messages":[]})";
  auto post = [](const std::string& body) {
    return "POST /olla/litellm/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string raw = post(body_of(9000)) + post(body_of(2000)) + post(short_body) +
                          "GET /olla/litellm/health HTTP/1.1\r\nHost: x\r\n"
                          "Connection: close\r\n\r\n";
  const auto out = raw_exchange(stack.port(), raw);
  std::vector<std::string> ids;
  std::string rest = out;
  for (int i = 0; i < 4; ++i) {
    const auto r = parse_response(rest);
    ASSERT_GT(r.consumed, 0u) << "response " << i << " of:\n" << out;
    EXPECT_EQ(r.status, 200) << i;
    const std::string key = "\r\nx-olla-request-id: ";
    const auto at = r.head.find(key);
    ASSERT_NE(at, std::string::npos) << r.head;
    ids.push_back(r.head.substr(at + key.size(), r.head.find("\r\n", at + 2) - at - key.size()));
    rest.erase(0, r.consumed);
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u);
  const auto last = stack.mock().last_request();
  EXPECT_EQ(last["target"], "/v1/chat/completions");
  EXPECT_EQ(last["body"], short_body);
}

TEST_F(Endpoints, ModelNamesCannotInjectHeaders) {
  auto r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions",
                   R"({"model":"gpt-4\r\nX-Injected: yes","messages":[]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.has("x-injected"));
  EXPECT_FALSE(r.has("x-olla-model"));
  EXPECT_EQ(r.header("x-olla-endpoint"), "litellm-gateway");
}

TEST_F(Endpoints, GatewayRoutes) {
  auto r = request(stack.port(), "GET", "/internal/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.has("x-olla-request-id"));
  r = request(stack.port(), "GET", "/version");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["name"], "olla");
}

}  // namespace
}  // namespace olla::test

namespace olla::test {
namespace {

TEST(EndpointCredentials, ProbesAlwaysAndRequestsWithoutTheirOwnKeyCarryTheEndpointsAuth) {
  setenv("OLLA_TEST_LITELLM_KEY", "sk-endpoint-key", 1);
  // Probes far apart: after start-up, the mock's last request is the one the test sent.
  Stack stack(
      {mock::MockOptions{}}, "", "60s",
      {"auth:\n  type: bearer\n  token: ${OLLA_TEST_LITELLM_KEY}\nheaders:\n  X-Team: blue\n"});
  unsetenv("OLLA_TEST_LITELLM_KEY");
  ASSERT_TRUE(stack.wait_healthy(1));
  // A probe (or discovery) carried the credentials.
  auto probe = stack.mock().last_request();
  EXPECT_EQ(probe["headers"]["authorization"], "Bearer sk-endpoint-key");
  EXPECT_EQ(probe["headers"]["x-team"], "blue");

  auto r =
      request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false));
  ASSERT_EQ(r.status, 200);
  auto h = stack.mock().last_request()["headers"];
  EXPECT_EQ(h["authorization"], "Bearer sk-endpoint-key");
  EXPECT_EQ(h["x-team"], "blue");

  // A client's own virtual key is forwarded unchanged, never replaced.
  r = request(stack.port(), "POST", "/olla/litellm/v1/chat/completions", chat_body("gpt-4", false),
              {{"Authorization", "Bearer sk-client-virtual-key"}, {"X-Team", "red"}});
  ASSERT_EQ(r.status, 200);
  h = stack.mock().last_request()["headers"];
  EXPECT_EQ(stack.mock().last_request()["target"], "/v1/chat/completions");
  EXPECT_EQ(h["authorization"], "Bearer sk-client-virtual-key");
  EXPECT_EQ(h["x-team"], "red");
}

TEST(EndpointCredentials, ApiKeyHeaderAndBasicAuth) {
  Stack stack({mock::MockOptions{}, mock::MockOptions{}}, "", "200ms",
              {"auth:\n  type: api_key\n  key: k-123\n  header: x-litellm-api-key\n",
               "auth:\n  type: basic\n  username: olla\n  password: s3cret\n"});
  ASSERT_TRUE(stack.wait_healthy(2));
  EXPECT_EQ(stack.mock(0).last_request()["headers"]["x-litellm-api-key"], "k-123");
  EXPECT_EQ(stack.mock(1).last_request()["headers"]["authorization"], "Basic b2xsYTpzM2NyZXQ=");
}

}  // namespace
}  // namespace olla::test
