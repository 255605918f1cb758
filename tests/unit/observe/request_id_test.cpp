#include "olla/observe/request_id.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <unordered_set>

namespace olla::observe {
namespace {

TEST(IsValidRequestId, VisibleAscii) {
  EXPECT_TRUE(is_valid_request_id("a"));
  EXPECT_TRUE(is_valid_request_id("req_0123456789abcdef"));
  EXPECT_TRUE(is_valid_request_id("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(is_valid_request_id("!~"));  // both ends of the visible range
  EXPECT_TRUE(is_valid_request_id("a/b:c;d=e{f}\"g'"));
  EXPECT_TRUE(is_valid_request_id(std::string(128, 'x')));
}

TEST(IsValidRequestId, Invalid) {
  EXPECT_FALSE(is_valid_request_id(""));
  EXPECT_FALSE(is_valid_request_id(std::string(129, 'x')));
  EXPECT_FALSE(is_valid_request_id("a b"));
  EXPECT_FALSE(is_valid_request_id(" "));
  EXPECT_FALSE(is_valid_request_id("a\tb"));
  EXPECT_FALSE(is_valid_request_id("abc\r\nX-Injected: 1"));
  EXPECT_FALSE(is_valid_request_id("a\x01"));
  EXPECT_FALSE(is_valid_request_id("a\x7f"));
  EXPECT_FALSE(is_valid_request_id(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_valid_request_id("caf\xc3\xa9"));
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST(NewRequestId, Shape) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_request_id();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id.substr(0, 4), "req_") << id;
    for (std::size_t k = 4; k < id.size(); ++k) EXPECT_TRUE(is_lower_hex(id[k])) << id;
    EXPECT_TRUE(is_valid_request_id(id)) << id;
  }
}

TEST(NewRequestId, UniqueOver10k) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) seen.insert(new_request_id());
  EXPECT_EQ(seen.size(), 10'000u);
}

TEST(NewRequestId, EveryDigitVaries) {
  // All 128 bits are random: no hex position is stuck (a stuck half would still be unique).
  std::array<std::set<char>, 32> per_position;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = new_request_id();
    for (std::size_t k = 0; k < 32; ++k) per_position[k].insert(id[4 + k]);
  }
  for (std::size_t k = 0; k < 32; ++k) EXPECT_EQ(per_position[k].size(), 16u) << "position " << k;
}

}  // namespace
}  // namespace olla::observe
