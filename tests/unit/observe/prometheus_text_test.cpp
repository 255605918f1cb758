#include "olla/observe/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace olla::observe {
namespace {

TEST(PrometheusText, CounterFamilyExact) {
  PrometheusText w;
  w.family("x_total", "counter", "Things.");
  w.sample("x_total", {{"a", "1"}, {"b", "two"}}, std::uint64_t{42});
  w.sample("x_total", {}, std::uint64_t{18446744073709551615ull});
  EXPECT_EQ(w.text(),
            "# HELP x_total Things.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"1\",b=\"two\"} 42\n"
            "x_total 18446744073709551615\n");
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  PrometheusText w;
  w.sample("g", {{"model", "a\\b\"c\nd"}}, 1.5);
  EXPECT_EQ(w.text(), "g{model=\"a\\\\b\\\"c\\nd\"} 1.5\n");
}

TEST(PrometheusText, HelpEscapesBackslashAndNewlineButNotQuotes) {
  PrometheusText w;
  w.family("g", "gauge", "say \"hi\"\\\nbye");
  EXPECT_EQ(w.text(), "# HELP g say \"hi\"\\\\\\nbye\n# TYPE g gauge\n");
}

TEST(PrometheusText, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(PrometheusText::escape_label_value("caf\xc3\xa9"), "caf\xc3\xa9");  // valid: kept
  EXPECT_EQ(PrometheusText::escape_label_value("a\xff"
                                               "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(PrometheusText::escape_label_value("\xc3"), "\xef\xbf\xbd");  // truncated
  EXPECT_EQ(PrometheusText::escape_label_value("\xc0\xaf"),
            "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
  EXPECT_EQ(PrometheusText::escape_label_value("\xed\xa0\x80"),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(PrometheusText::escape_label_value("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // emoji
  EXPECT_EQ(valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(PrometheusText, FormatDouble) {
  EXPECT_EQ(PrometheusText::format_double(0), "0");
  EXPECT_EQ(PrometheusText::format_double(0.0005), "0.0005");
  EXPECT_EQ(PrometheusText::format_double(0.00005), "5e-05");
  EXPECT_EQ(PrometheusText::format_double(2.5), "2.5");
  EXPECT_EQ(PrometheusText::format_double(600), "600");
  EXPECT_EQ(PrometheusText::format_double(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PrometheusText::format_double(-3), "-3");
  EXPECT_EQ(PrometheusText::format_double(1e21), "1e+21");
  EXPECT_EQ(PrometheusText::format_double(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusText::format_double(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(PrometheusText::format_double(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(PrometheusText, HistogramExact) {
  Histogram h(std::vector<double>{0.0005, 1});
  h.observe(0.0001);
  h.observe(0.5);
  h.observe(2);
  PrometheusText w;
  w.family("d_seconds", "histogram", "Durations.");
  w.histogram("d_seconds", {{"endpoint", "e\"1"}}, h.snapshot());
  w.histogram("d_seconds", {}, Histogram(std::vector<double>{1}).snapshot());
  EXPECT_EQ(w.text(),
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{endpoint=\"e\\\"1\",le=\"0.0005\"} 1\n"
            "d_seconds_bucket{endpoint=\"e\\\"1\",le=\"1\"} 2\n"
            "d_seconds_bucket{endpoint=\"e\\\"1\",le=\"+Inf\"} 3\n"
            "d_seconds_sum{endpoint=\"e\\\"1\"} 2.5001\n"
            "d_seconds_count{endpoint=\"e\\\"1\"} 3\n"
            "d_seconds_bucket{le=\"1\"} 0\n"
            "d_seconds_bucket{le=\"+Inf\"} 0\n"
            "d_seconds_sum 0\n"
            "d_seconds_count 0\n");
}

}  // namespace
}  // namespace olla::observe
