#include "olla/observe/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "olla/config/config.hpp"
#include "olla/pool/endpoint_pool.hpp"

namespace olla::observe {
namespace {

pool::EndpointPool make_pool() {
  return pool::EndpointPool(
      config::load_string("discovery:\n"
                          "  static:\n"
                          "    endpoints:\n"
                          "      - url: http://127.0.0.1:4000\n"
                          "        name: alpha\n"
                          "      - url: http://127.0.0.1:4001\n"
                          "        name: beta\n",
                          "test.yaml"));
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

// Every sample line of the exposition, "name{labels}" -> value, checking the format on the way:
// each family has HELP then TYPE before its samples, names and labels are well formed, no series
// appears twice.
std::map<std::string, double> parse_exposition(const std::string& text) {
  static const std::regex kSample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$)re");
  std::map<std::string, double> out;
  std::set<std::string> typed;
  std::string help_for;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("# HELP ", 0) == 0) {
      help_for = l.substr(7, l.find(' ', 7) - 7);
      continue;
    }
    if (l.rfind("# TYPE ", 0) == 0) {
      const auto name = l.substr(7, l.find(' ', 7) - 7);
      EXPECT_EQ(name, help_for) << "TYPE without HELP: " << l;
      EXPECT_TRUE(typed.insert(name).second) << "family twice: " << name;
      const auto type = l.substr(l.rfind(' ') + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << l;
      continue;
    }
    std::smatch m;
    EXPECT_TRUE(std::regex_match(l, m, kSample)) << "bad line: " << l;
    if (m.empty()) continue;
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (!typed.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family.resize(family.size() - s.size());
      }
    }
    EXPECT_TRUE(typed.count(family)) << "sample before its TYPE: " << l;
    const auto key = l.substr(0, l.rfind(' '));
    EXPECT_TRUE(out.emplace(key, std::stod(l.substr(l.rfind(' ') + 1))).second)
        << "series twice: " << key;
  }
  return out;
}

RequestSample sample(std::string_view endpoint, std::string_view model, int status,
                     double duration = 0.1) {
  RequestSample s;
  s.endpoint = endpoint;
  s.model = model;
  s.status = status;
  s.duration_s = duration;
  return s;
}

TEST(Metrics, SmallFixture) {
  auto pool = make_pool();
  pool.at(0).status = pool::EndpointStatus::healthy;
  pool.at(0).in_flight = 3;
  pool.at(1).status = pool::EndpointStatus::rate_limited;

  Metrics m;
  auto s = sample("alpha", "gpt-4o", 200, 1.0);
  s.ttfb_s = 0.2;
  s.upstream_wait_s = 1.0 - 0.00048828125;  // 2^-11 s of gateway overhead, exact in binary
  s.usage = Usage{10, 5, 15};
  m.record_request(s);
  m.record_request(sample("alpha", "gpt-4o", 503, 0.05));
  m.record_request(sample("", "no \"such\"\nmodel\\", 404, 0.0001));
  m.record_retry("alpha");
  m.record_breaker_open("beta");
  m.record_client_cancel("alpha");
  m.record_client_cancel("alpha");
  m.record_retry("gone");  // an endpoint removed by a reload keeps its figures

  const auto text = m.prometheus(pool);
  const auto series = parse_exposition(text);
  for (const char* line : {
           "# HELP olla_requests_total Requests answered, by endpoint, model and HTTP status "
           "class.",
           "# TYPE olla_requests_total counter",
           R"(olla_requests_total{endpoint="",model="no \"such\"\nmodel\\",status_class="4xx"} 1)",
           R"(olla_requests_total{endpoint="alpha",model="gpt-4o",status_class="2xx"} 1)",
           R"(olla_requests_total{endpoint="alpha",model="gpt-4o",status_class="5xx"} 1)",
           "# TYPE olla_request_duration_seconds histogram",
           R"(olla_request_duration_seconds_bucket{endpoint="alpha",le="0.05"} 1)",
           R"(olla_request_duration_seconds_bucket{endpoint="alpha",le="0.5"} 1)",
           R"(olla_request_duration_seconds_bucket{endpoint="alpha",le="1"} 2)",
           R"(olla_request_duration_seconds_bucket{endpoint="alpha",le="+Inf"} 2)",
           R"(olla_request_duration_seconds_sum{endpoint="alpha"} 1.05)",
           R"(olla_request_duration_seconds_count{endpoint="alpha"} 2)",
           R"(olla_request_duration_seconds_bucket{endpoint="",le="0.0005"} 1)",
           R"(olla_request_duration_seconds_count{endpoint="beta"} 0)",
           "# TYPE olla_time_to_first_byte_seconds histogram",
           R"(olla_time_to_first_byte_seconds_bucket{endpoint="alpha",le="0.1"} 0)",
           R"(olla_time_to_first_byte_seconds_bucket{endpoint="alpha",le="0.25"} 1)",
           R"(olla_time_to_first_byte_seconds_count{endpoint="alpha"} 1)",
           "# TYPE olla_gateway_overhead_seconds histogram",
           R"(olla_gateway_overhead_seconds_bucket{le="0.00025"} 0)",
           R"(olla_gateway_overhead_seconds_bucket{le="0.0005"} 1)",
           R"(olla_gateway_overhead_seconds_bucket{le="+Inf"} 2)",
           R"(olla_gateway_overhead_seconds_count 2)",
           "# TYPE olla_prompt_tokens_total counter",
           R"(olla_prompt_tokens_total{endpoint="alpha",model="gpt-4o"} 10)",
           "# TYPE olla_completion_tokens_total counter",
           R"(olla_completion_tokens_total{endpoint="alpha",model="gpt-4o"} 5)",
           "# TYPE olla_retries_total counter",
           R"(olla_retries_total{endpoint="alpha"} 1)",
           R"(olla_retries_total{endpoint="beta"} 0)",
           R"(olla_retries_total{endpoint="gone"} 1)",
           "# TYPE olla_circuit_breaker_opens_total counter",
           R"(olla_circuit_breaker_opens_total{endpoint="beta"} 1)",
           "# TYPE olla_client_cancellations_total counter",
           R"(olla_client_cancellations_total{endpoint="alpha"} 2)",
           "# TYPE olla_endpoint_in_flight gauge",
           R"(olla_endpoint_in_flight{endpoint="alpha"} 3)",
           R"(olla_endpoint_in_flight{endpoint="beta"} 0)",
           "# TYPE olla_endpoint_up gauge",
           R"(olla_endpoint_up{endpoint="alpha"} 1)",
           R"(olla_endpoint_up{endpoint="beta"} 0)",
           "# TYPE olla_endpoint_status gauge",
           R"(olla_endpoint_status{endpoint="alpha",status="healthy"} 1)",
           R"(olla_endpoint_status{endpoint="alpha",status="unknown"} 0)",
           R"(olla_endpoint_status{endpoint="beta",status="rate_limited"} 1)",
           R"(olla_endpoint_status{endpoint="beta",status="healthy"} 0)",
       }) {
    EXPECT_TRUE(has_line(text, line)) << "missing: " << line << "\n" << text;
  }
  // Tokens only where usage was seen; the gateway's own answer has none and no overhead sample.
  EXPECT_EQ(text.find(R"(olla_prompt_tokens_total{endpoint="")"), std::string::npos);
  // Endpoints outside the pool (here: none, "") are listed only where they have figures.
  EXPECT_EQ(text.find(R"(olla_retries_total{endpoint="")"), std::string::npos);
  EXPECT_EQ(text.find(R"(olla_time_to_first_byte_seconds_count{endpoint="")"), std::string::npos);
  EXPECT_TRUE(has_line(text, R"(olla_request_duration_seconds_count{endpoint=""} 1)"));
  EXPECT_EQ(text.find(R"(olla_request_duration_seconds_count{endpoint="gone"})"),
            std::string::npos);
  EXPECT_EQ(text.find(R"(olla_client_cancellations_total{endpoint="gone"})"), std::string::npos);
  EXPECT_EQ(series.at(R"(olla_endpoint_status{endpoint="beta",status="config_error"})"), 0);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(m.requests_total(), 3u);
}

TEST(Metrics, StatusClasses) {
  auto pool = make_pool();
  Metrics m;
  for (int status : {101, 200, 204, 301, 404, 499, 500, 599, 0, 99, 600, -1})
    m.record_request(sample("alpha", "m", status));
  const auto series = parse_exposition(m.prometheus(pool));
  const auto count = [&](const char* cls) {
    return series.at(
        std::string(R"(olla_requests_total{endpoint="alpha",model="m",status_class=")") + cls +
        "\"}");
  };
  EXPECT_EQ(count("1xx"), 1);
  EXPECT_EQ(count("2xx"), 2);
  EXPECT_EQ(count("3xx"), 1);
  EXPECT_EQ(count("4xx"), 2);
  EXPECT_EQ(count("5xx"), 2);
  EXPECT_EQ(count("other"), 4);
}

TEST(Metrics, ModelLabelsAreCapped) {
  auto pool = make_pool();
  Metrics m(3);
  for (int i = 0; i < 10; ++i) m.record_request(sample("alpha", "model-" + std::to_string(i), 200));
  m.record_request(sample("alpha", "model-1", 200));  // admitted before the cap: keeps its label
  m.record_request(sample("beta", "model-2", 200));   // admitted models count on any endpoint
  m.record_request(sample("beta", std::string(Metrics::kMaxModelBytes + 1, 'x'), 200));
  EXPECT_EQ(m.model_labels(), 3u);

  const auto series = parse_exposition(m.prometheus(pool));
  std::set<std::string> models;
  for (const auto& [key, value] : series) {
    if (key.rfind("olla_requests_total{", 0) != 0) continue;
    const auto from = key.find("model=\"") + 7;
    models.insert(key.substr(from, key.find('"', from) - from));
  }
  EXPECT_EQ(models, (std::set<std::string>{"model-0", "model-1", "model-2", "other"}));
  EXPECT_EQ(
      series.at(R"(olla_requests_total{endpoint="alpha",model="model-1",status_class="2xx"})"), 2);
  EXPECT_EQ(series.at(R"(olla_requests_total{endpoint="alpha",model="other",status_class="2xx"})"),
            7);
  EXPECT_EQ(series.at(R"(olla_requests_total{endpoint="beta",model="model-2",status_class="2xx"})"),
            1);
  EXPECT_EQ(series.at(R"(olla_requests_total{endpoint="beta",model="other",status_class="2xx"})"),
            1);
}

TEST(Metrics, ManyDistinctModelsStayBounded) {
  auto pool = make_pool();
  Metrics m(1000);
  for (int i = 0; i < 5000; ++i) {
    const std::string model = std::string("m").append(std::to_string(i));
    m.record_request(sample("alpha", model, 200));
  }
  EXPECT_EQ(m.model_labels(), 1000u);
  const auto series = parse_exposition(m.prometheus(pool));
  std::size_t request_series = 0;
  for (const auto& [key, value] : series)
    request_series += key.rfind("olla_requests_total{", 0) == 0;
  EXPECT_EQ(request_series, 1001u);
  EXPECT_EQ(m.requests_total(), 5000u);
}

TEST(Metrics, InvalidUtf8ModelIsReplacedAndRawVariantsMerge) {
  auto pool = make_pool();
  Metrics m;
  m.record_request(sample("alpha", "gpt\xff", 200));
  m.record_request(sample("alpha", "gpt\xfe", 200));  // another raw model, same label
  const auto text = m.prometheus(pool);
  const auto series = parse_exposition(text);
  EXPECT_EQ(series.at("olla_requests_total{endpoint=\"alpha\",model=\"gpt\xef\xbf\xbd\","
                      "status_class=\"2xx\"}"),
            2);
  EXPECT_EQ(text.find('\xff'), std::string::npos);
}

TEST(Metrics, TimeToFirstByteZeroIsNotObserved) {
  Metrics m;
  m.record_request(sample("alpha", "m", 200));
  EXPECT_EQ(m.ttfb("alpha").count, 0u);
  EXPECT_EQ(m.latency("alpha").count, 1u);
  EXPECT_EQ(m.latency("nobody").count, 0u);
  EXPECT_EQ(m.latency("nobody").cumulative.size(), Histogram::default_bounds().size() + 1);
}

TEST(Metrics, OverheadIsDurationMinusUpstreamWaitNeverNegative) {
  Metrics m;
  auto s = sample("alpha", "m", 200, 1.0);
  s.upstream_wait_s = 1.2;  // clocks read at slightly different points
  m.record_request(s);
  s.upstream_wait_s = 0.998;
  m.record_request(s);
  const auto o = m.overhead();
  EXPECT_EQ(o.count, 2u);
  EXPECT_NEAR(o.sum, 0.002, 1e-9);
  EXPECT_EQ(o.cumulative[0], 1u);  // the clamped 0 in the first bucket
}

TEST(Metrics, ConcurrentRecordingHasExactTotals) {
  auto pool = make_pool();
  Metrics m;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10'000;
  const std::vector<std::string> models = {"gpt-4o", "claude-3", "gemini", "llama", "mistral"};
  std::atomic<bool> done{false};
  // A scraper runs all along: the exporter must not disturb (or be disturbed by) the writers.
  std::thread scraper([&] {
    while (!done.load()) {
      const auto text = m.prometheus(pool);
      ASSERT_FALSE(text.empty());
      (void)m.latency("alpha");
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto s = sample(i % 2 ? "alpha" : "beta", models[(i + t) % models.size()],
                        i % 10 == 0 ? 502 : 200, 0.01 * (i % 7));
        s.ttfb_s = 0.001;
        s.usage = Usage{3, 2, 5};
        m.record_request(s);
        if (i % 100 == 0) m.record_retry("alpha");
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  scraper.join();

  constexpr double kTotal = kThreads * kPerThread;
  EXPECT_EQ(m.requests_total(), kTotal);
  const auto series = parse_exposition(m.prometheus(pool));
  double requests = 0, errors = 0, prompt = 0, completion = 0;
  for (const auto& [key, value] : series) {
    if (key.rfind("olla_requests_total{", 0) == 0) {
      requests += value;
      if (key.find("5xx") != std::string::npos) errors += value;
    }
    if (key.rfind("olla_prompt_tokens_total{", 0) == 0) prompt += value;
    if (key.rfind("olla_completion_tokens_total{", 0) == 0) completion += value;
  }
  EXPECT_EQ(requests, kTotal);
  EXPECT_EQ(errors, kTotal / 10);
  EXPECT_EQ(prompt, 3 * kTotal);
  EXPECT_EQ(completion, 2 * kTotal);
  EXPECT_EQ(series.at(R"(olla_request_duration_seconds_count{endpoint="alpha"})") +
                series.at(R"(olla_request_duration_seconds_count{endpoint="beta"})"),
            kTotal);
  EXPECT_EQ(series.at(R"(olla_time_to_first_byte_seconds_bucket{endpoint="alpha",le="+Inf"})"),
            kTotal / 2);
  EXPECT_EQ(series.at("olla_gateway_overhead_seconds_count"), kTotal);
  EXPECT_EQ(series.at(R"(olla_retries_total{endpoint="alpha"})"), kThreads * kPerThread / 100);
  EXPECT_EQ(m.latency("alpha").count + m.latency("beta").count, kTotal);
}

TEST(Metrics, InstancesAreIndependent) {
  Metrics a, b;
  a.record_request(sample("alpha", "m", 200));
  b.record_request(sample("alpha", "m", 200));
  a.record_request(sample("alpha", "m", 200));
  EXPECT_EQ(a.requests_total(), 2u);
  EXPECT_EQ(b.requests_total(), 1u);
}

}  // namespace
}  // namespace olla::observe
