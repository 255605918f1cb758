#include "upstream_request.hpp"

#include <algorithm>
#include <string>

#include "olla/proxy/header_rules.hpp"

namespace olla::proxy {

namespace http = boost::beast::http;

std::string host_header(const config::EndpointConfig& ep) {
  const bool default_port =
      (ep.scheme == "https" && ep.port == 443) || (ep.scheme == "http" && ep.port == 80);
  const std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return default_port ? host : host + ":" + std::to_string(ep.port);
}

request_t upstream_request(const request_t& in, const config::EndpointConfig& ep,
                           std::string_view target, bool chunked,
                           boost::optional<std::uint64_t> content_length,
                           std::string_view request_id, std::string_view peer) {
  request_t out;
  out.version(11);
  out.target(ep.base_path + std::string(target));
  if (in.method() == http::verb::unknown) {
    out.method_string(in.method_string());
  } else {
    out.method(in.method());
  }
  const auto tokens = connection_tokens(in[http::field::connection]);
  std::string forwarded_for;
  for (const auto& f : in) {
    const auto name = f.name_string();
    if (is_hop_by_hop(name) || f.name() == http::field::host || f.name() == http::field::expect ||
        f.name() == http::field::transfer_encoding || f.name() == http::field::content_length ||
        iequals(name, "X-Request-ID") || iequals(name, "X-Forwarded-Proto") ||
        iequals(name, "X-Forwarded-Host")) {
      continue;
    }
    if (iequals(name, "X-Forwarded-For")) {
      forwarded_for = append_forwarded_for(forwarded_for, f.value());
      continue;
    }
    if (std::any_of(tokens.begin(), tokens.end(),
                    [&](const std::string& t) { return iequals(t, name); })) {
      continue;
    }
    out.insert(f.name(), name, f.value());
  }
  if (chunked) {
    out.chunked(true);
  } else if (content_length) {
    out.content_length(*content_length);
  }
  out.set(http::field::host, host_header(ep));
  if (!ep.auth_header.empty() && out.find(ep.auth_header) == out.end()) {
    out.set(ep.auth_header, ep.auth_value);
  }
  for (const auto& [name, value] : ep.headers) {
    if (out.find(name) == out.end()) out.set(name, value);
  }
  out.set("X-Request-ID", request_id);
  out.set("X-Forwarded-For", append_forwarded_for(forwarded_for, peer));
  out.set("X-Forwarded-Proto", "http");
  if (auto host = in[http::field::host]; !host.empty()) out.set("X-Forwarded-Host", host);
  return out;
}

}  // namespace olla::proxy
