#include "olla/proxy/header_rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace olla::proxy {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // ASCII only, as header names are (and without std::tolower's locale lookup per byte).
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_header_safe(std::string_view value) {
  if (value.size() > 256) return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool is_hop_by_hop(std::string_view name) {
  // Connection, Keep-Alive, TE, Trailer, Upgrade and Proxy-* (Proxy-Connection,
  // Proxy-Authenticate, Proxy-Authorization among them); by length first, as most names are not.
  switch (name.size()) {
    case 2:
      return iequals(name, "te");
    case 7:
      if (iequals(name, "trailer") || iequals(name, "upgrade")) return true;
      break;
    case 10:
      if (iequals(name, "connection") || iequals(name, "keep-alive")) return true;
      break;
    default:
      break;
  }
  return name.size() >= 6 && iequals(name.substr(0, 6), "proxy-");
}

bool connection_lists(std::string_view value, std::string_view name) {
  std::size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ',' || value[i] == ' ' || value[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < value.size() && value[i] != ',') ++i;
    std::size_t end = i;
    while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t')) --end;
    if (end > start && iequals(value.substr(start, end - start), name)) return true;
  }
  return false;
}

std::string append_forwarded_for(std::string_view existing, std::string_view peer) {
  if (existing.empty()) return std::string(peer);
  std::string out(existing);
  out += ", ";
  out += peer;
  return out;
}

std::string format_response_time(std::chrono::nanoseconds elapsed) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  std::string out = std::to_string(ms / 1000);
  const auto frac = static_cast<int>(ms % 1000);
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
  out += 's';
  return out;
}

}  // namespace olla::proxy
