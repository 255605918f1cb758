// Shared by fuzz_request and fuzz_response: proxy::HeadParser's head against Beast's parser's.
#pragma once

#include <algorithm>
#include <boost/beast/http.hpp>
#include <cctype>
#include <string>
#include <tuple>
#include <vector>

#include "../../src/proxy/head_parser.hpp"
#include "fuzz_common.hpp"

namespace olla::fuzz {

// A Beast head's fields, copied (basic_fields later takes a chunked body's trailers too).
using BeastFields = std::vector<std::tuple<boost::beast::http::field, std::string, std::string>>;

template <class Fields>
BeastFields copy_fields(const Fields& fields) {
  BeastFields out;
  for (const auto& f : fields) {
    out.emplace_back(f.name(), std::string(f.name_string()), std::string(f.value()));
  }
  return out;
}

// Ours keeps the fields in wire order; basic_fields puts a field after the last one of the same
// name (case-insensitive). Grouped that way, ours must be theirs exactly.
inline void check_same_fields(const BeastFields& theirs,
                              const std::vector<proxy::HeadField>& ours) {
  const auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::vector<std::string> first_seen;
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (group, wire position)
  for (std::size_t k = 0; k < ours.size(); ++k) {
    const auto name = lower(ours[k].name_string);
    auto at = std::find(first_seen.begin(), first_seen.end(), name);
    if (at == first_seen.end()) at = first_seen.insert(first_seen.end(), name);
    order.emplace_back(static_cast<std::size_t>(at - first_seen.begin()), k);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  FUZZ_CHECK(theirs.size() == order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& [name, name_string, value] = theirs[i];
    const auto& g = ours[order[i].second];
    FUZZ_CHECK(name == g.name);
    FUZZ_CHECK(name_string == g.name_string);
    FUZZ_CHECK(value == g.value);
  }
}

}  // namespace olla::fuzz
