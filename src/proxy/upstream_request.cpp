#include "upstream_request.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "olla/proxy/head_writer.hpp"
#include "olla/proxy/header_rules.hpp"

namespace olla::proxy {

namespace http = boost::beast::http;

std::string host_header(const config::EndpointConfig& ep) {
  const bool default_port =
      (ep.scheme == "https" && ep.port == 443) || (ep.scheme == "http" && ep.port == 80);
  const std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return default_port ? host : host + ":" + std::to_string(ep.port);
}

BodyFraming request_framing(bool body_complete, std::size_t buffered, bool chunked,
                            boost::optional<std::uint64_t> content_length) {
  if (!chunked && !content_length) return {};
  if (body_complete) return {BodyFraming::Kind::length, buffered};
  if (chunked) return {BodyFraming::Kind::chunked, 0};
  return {BodyFraming::Kind::length, *content_length};
}

void write_upstream_request(std::string& out, const request_t& in, const config::EndpointConfig& ep,
                            std::string_view target, BodyFraming framing,
                            std::string_view request_id, std::string_view peer) {
  HeadWriter w(out);
  w.request_line(in.method_string(), ep.base_path, target);
  {
    // host_header(ep), with no strings built for it.
    const bool default_port =
        (ep.scheme == "https" && ep.port == 443) || (ep.scheme == "http" && ep.port == 80);
    const bool bracket = ep.host.find(':') != std::string::npos;
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, ep.port).ptr;
    const std::string_view port(digits, default_port ? 0 : static_cast<std::size_t>(end - digits));
    w.field("Host",
            {bracket ? "[" : "", ep.host, bracket ? "]" : "", default_port ? "" : ":", port});
  }
  // The fields that decide about the others (by the parser's field codes).
  const auto client_host = in.value_of(http::field::host);
  const auto connection = in.value_of(http::field::connection);
  // Client fields that do not go upstream as they are.
  const auto dropped = [&](const auto& f) {
    const auto name = f.name_string;
    return is_hop_by_hop(name) || f.name == http::field::host || f.name == http::field::expect ||
           f.name == http::field::transfer_encoding || f.name == http::field::content_length ||
           iequals(name, "X-Request-ID") || iequals(name, "X-Forwarded-For") ||
           iequals(name, "X-Forwarded-Proto") || iequals(name, "X-Forwarded-Host") ||
           connection_lists(connection, name);
  };
  std::string forwarded_for;
  for (const auto& f : in.fields()) {
    if (!dropped(f)) {
      w.field(f.name_string, f.value);
    } else if (iequals(f.name_string, "X-Forwarded-For")) {
      forwarded_for = append_forwarded_for(forwarded_for, f.value);
    }
  }
  const auto client_sent = [&](std::string_view name) {
    return std::any_of(in.fields().begin(), in.fields().end(),
                       [&](const auto& f) { return iequals(f.name_string, name) && !dropped(f); });
  };
  if (framing.kind == BodyFraming::Kind::chunked) {
    w.field("Transfer-Encoding", "chunked");
  } else if (framing.kind == BodyFraming::Kind::length) {
    w.field("Content-Length", framing.length);
  }
  if (!ep.auth_header.empty() && !client_sent(ep.auth_header)) {
    w.field(ep.auth_header, ep.auth_value);
  }
  for (const auto& [name, value] : ep.headers) {
    if (!client_sent(name) && !iequals(name, ep.auth_header)) w.field(name, value);
  }
  w.field("X-Request-ID", request_id);
  w.field("X-Forwarded-For", append_forwarded_for(forwarded_for, peer));
  w.field("X-Forwarded-Proto", "http");
  if (!client_host.empty()) w.field("X-Forwarded-Host", client_host);
  w.finish();
}

}  // namespace olla::proxy
