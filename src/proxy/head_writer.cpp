#include "olla/proxy/head_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace olla::proxy {

HeadWriter::HeadWriter(std::string& out) : out_(out) {
  // Written through a pointer into the string grown to its capacity (zeroed once per head, which
  // costs less than a capacity check and a call per append); cut to length at the end.
  out_.resize(std::max<std::size_t>(out_.capacity(), 1024));
}

HeadWriter::~HeadWriter() { out_.resize(len_); }

char* HeadWriter::room(std::size_t n) {
  if (len_ + n > out_.size()) out_.resize(std::max(out_.size() * 2, len_ + n));
  char* p = out_.data() + len_;
  len_ += n;
  return p;
}

void HeadWriter::put(char*& p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  p += s.size();
}

void HeadWriter::request_line(std::string_view method, std::string_view base,
                              std::string_view target) {
  constexpr std::string_view kVersion = " HTTP/1.1\r\n";
  char* p = room(method.size() + 1 + base.size() + target.size() + kVersion.size());
  put(p, method);
  *p++ = ' ';
  put(p, base);
  put(p, target);
  put(p, kVersion);
}

void HeadWriter::status_line(unsigned status, std::string_view reason) {
  char code[8];
  const auto end = std::to_chars(code, code + sizeof code, status).ptr;
  const std::string_view digits(code, static_cast<std::size_t>(end - code));
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  char* p = room(kVersion.size() + digits.size() + 1 + reason.size() + 2);
  put(p, kVersion);
  put(p, digits);
  *p++ = ' ';
  put(p, reason);
  *p++ = '\r';
  *p = '\n';
}

void HeadWriter::field(std::string_view name, std::string_view value) {
  char* p = room(name.size() + value.size() + 4);
  put(p, name);
  *p++ = ':';
  *p++ = ' ';
  put(p, value);
  *p++ = '\r';
  *p = '\n';
}

void HeadWriter::field(std::string_view name, std::initializer_list<std::string_view> value) {
  std::size_t n = name.size() + 4;
  for (auto part : value) n += part.size();
  char* p = room(n);
  put(p, name);
  *p++ = ':';
  *p++ = ' ';
  for (auto part : value) put(p, part);
  *p++ = '\r';
  *p = '\n';
}

void HeadWriter::field(std::string_view name, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  field(name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

std::string_view HeadWriter::finish() {
  char* p = room(2);
  *p++ = '\r';
  *p = '\n';
  out_.resize(len_);
  return out_;
}

std::string_view chunk_size_line(char (&buf)[24], std::size_t n) {
  auto end = std::to_chars(buf, buf + sizeof buf - 2, n, 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  return {buf, static_cast<std::size_t>(end - buf)};
}

}  // namespace olla::proxy
