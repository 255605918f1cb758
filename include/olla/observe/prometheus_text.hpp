#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "olla/observe/histogram.hpp"

namespace olla::observe {

// Writes the Prometheus text exposition format (version 0.0.4): `# HELP` / `# TYPE` lines, then
// samples `name{label="value",...} number`. Label values are escaped (\\, \", \n) and made valid
// UTF-8; histograms get _bucket{le=...} (cumulative, ending with le="+Inf"), _sum and _count.
// The caller keeps each family's samples together, after its family() line.
class PrometheusText {
 public:
  struct Label {
    std::string_view name;
    std::string_view value;
  };
  using Labels = std::initializer_list<Label>;

  // Content-Type of the result.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, Labels labels, std::uint64_t value);
  void sample(std::string_view name, Labels labels, double value);
  void histogram(std::string_view name, Labels labels, const Histogram::Snapshot& h);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

  // `\` -> `\\`, `"` -> `\"`, newline -> `\n`; bytes that are not UTF-8 become U+FFFD.
  static std::string escape_label_value(std::string_view v);
  // Shortest text that reads back as the same double: "0.0005", "600", "2.5", "1e-07", "+Inf",
  // "-Inf", "NaN".
  static std::string format_double(double v);

 private:
  void name_and_labels(std::string_view name, Labels labels, std::string_view le = {});

  std::string out_;
};

// The bytes of `s` with every invalid UTF-8 sequence replaced by U+FFFD (as JSON dumps do).
std::string valid_utf8(std::string_view s);

}  // namespace olla::observe
