#include "olla/proxy/head_writer.hpp"

#include <charconv>

namespace olla::proxy {

void HeadWriter::request_line(std::string_view method, std::string_view base,
                              std::string_view target) {
  out_.append(method).append(" ").append(base).append(target).append(" HTTP/1.1\r\n");
}

void HeadWriter::status_line(unsigned status, std::string_view reason) {
  char code[8];
  const auto end = std::to_chars(code, code + sizeof code, status).ptr;
  out_.append("HTTP/1.1 ").append(code, end).append(" ").append(reason).append("\r\n");
}

void HeadWriter::field(std::string_view name, std::string_view value) {
  out_.append(name).append(": ").append(value).append("\r\n");
}

void HeadWriter::field(std::string_view name, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  field(name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

std::string_view HeadWriter::finish() {
  out_.append("\r\n");
  return out_;
}

std::string_view chunk_size_line(char (&buf)[24], std::size_t n) {
  auto end = std::to_chars(buf, buf + sizeof buf - 2, n, 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  return {buf, static_cast<std::size_t>(end - buf)};
}

}  // namespace olla::proxy
