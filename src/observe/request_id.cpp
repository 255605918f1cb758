#include "olla/observe/request_id.hpp"

#include <cstring>
#include <random>

namespace olla::observe {

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

void new_request_id(std::string& out) {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(4 + 32);
  std::memcpy(out.data(), "req_", 4);
  char* p = out.data() + 4;
  for (int half = 0; half < 2; ++half) {
    auto v = rng();
    for (int i = 0; i < 8; ++i, v >>= 8) {
      *p++ = kHex[(v >> 4) & 0xf];
      *p++ = kHex[v & 0xf];
    }
  }
}

std::string new_request_id() {
  std::string id;
  new_request_id(id);
  return id;
}

}  // namespace olla::observe
