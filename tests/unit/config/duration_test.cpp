#include "olla/config/duration.hpp"

#include <gtest/gtest.h>

namespace olla::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, SingleUnits) {
  EXPECT_EQ(parse_duration("500ms"), Duration(500));
  EXPECT_EQ(parse_duration("5s"), Duration(5000));
  EXPECT_EQ(parse_duration("2m"), Duration(120'000));
  EXPECT_EQ(parse_duration("2h"), Duration(7'200'000));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
}

TEST(ParseDuration, CompoundGoStyle) {
  EXPECT_EQ(parse_duration("1m30s"), Duration(90'000));
  EXPECT_EQ(parse_duration("1h2m3s4ms"), Duration(3'723'004));
  EXPECT_EQ(parse_duration("1s500ms"), Duration(1500));
}

TEST(ParseDuration, Fractions) {
  EXPECT_EQ(parse_duration("1.5s"), Duration(1500));
  EXPECT_EQ(parse_duration("0.25m"), Duration(15'000));
}

TEST(ParseDuration, BareIntegerIsSeconds) {
  EXPECT_EQ(parse_duration("30"), Duration(30'000));
  EXPECT_EQ(parse_duration("0"), Duration(0));
  EXPECT_EQ(parse_duration("600"), 10min);
}

TEST(ParseDuration, Garbage) {
  for (const char* bad : {"",    "abc",  "5 parsecs", "5x",         "5sec",
                          "s",   "ms",   "-5s",       "+5s",        " 5s",
                          "5s ", "1m30", "5s5",       "1..5s",      "1.2.3s",
                          ".s",  "1,5s", "5d",        "1234567890", "99999999999999999s"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ParseDuration, AbsurdlyLargeIsRefusedNotWrapped) {
  // Each piece is in range but the sum overflows a 64-bit millisecond count.
  const auto d = parse_duration("999999999999h999999999999h999999999999h");
  EXPECT_EQ(d, std::nullopt);
}

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(parse_size("1048576"), 1048576u);
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("10b"), 10u);
}

TEST(ParseSize, Units) {
  EXPECT_EQ(parse_size("512KB"), 512u << 10);
  EXPECT_EQ(parse_size("100MB"), 100ull << 20);
  EXPECT_EQ(parse_size("1MiB"), 1ull << 20);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_size("3GB"), 3ull << 30);
  EXPECT_EQ(parse_size("64kb"), 64u << 10);
  EXPECT_EQ(parse_size("8K"), 8u << 10);
  EXPECT_EQ(parse_size("1 MB"), 1ull << 20);
}

TEST(ParseSize, Garbage) {
  for (const char* bad : {"", "MB", "-1", "1TB", "1.5MB", "lots", "1 parsec", "KB1"}) {
    EXPECT_EQ(parse_size(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ParseSize, OverflowIsRefusedNotWrapped) {
  EXPECT_EQ(parse_size("999999999999999GB"), std::nullopt);
  EXPECT_EQ(parse_size("17179869184GiB"), std::nullopt);  // exactly 2^64
  EXPECT_EQ(parse_size("17179869183GiB"), 17179869183ull << 30);
}

TEST(FormatDuration, WholeSecondsAndMilliseconds) {
  EXPECT_EQ(format_duration(Duration(5000)), "5s");
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(Duration(500)), "500ms");
  EXPECT_EQ(format_duration(Duration(1500)), "1500ms");
  EXPECT_EQ(format_duration(Duration(600'000)), "600s");
}

}  // namespace
}  // namespace olla::config
