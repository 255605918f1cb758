#include "olla/proxy/head_writer.hpp"

#include <gtest/gtest.h>

#include <string>

using olla::proxy::chunk_size_line;
using olla::proxy::HeadWriter;

TEST(HeadWriter, RequestHead) {
  std::string out = "left over from the last message";
  HeadWriter w(out);
  w.request_line("POST", "/gw", "/v1/chat/completions?x=1");
  w.field("Host", "litellm:4000");
  w.field("Content-Length", std::uint64_t{18446744073709551615u});
  EXPECT_EQ(w.finish(),
            "POST /gw/v1/chat/completions?x=1 HTTP/1.1\r\nHost: litellm:4000\r\n"
            "Content-Length: 18446744073709551615\r\n\r\n");
}

TEST(HeadWriter, ResponseHead) {
  std::string out;
  HeadWriter w(out);
  w.status_line(429, "Too Many Requests");
  w.field("Retry-After", std::uint64_t{0});
  w.finish();
  EXPECT_EQ(out, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\n\r\n");
  HeadWriter again(out);  // the same string, reused: cleared first
  again.status_line(299, "");
  again.finish();
  EXPECT_EQ(out, "HTTP/1.1 299 \r\n\r\n");
}

TEST(HeadWriter, ChunkSizeLines) {
  char buf[24];
  EXPECT_EQ(chunk_size_line(buf, 1), "1\r\n");
  EXPECT_EQ(chunk_size_line(buf, 16 * 1024), "4000\r\n");
  EXPECT_EQ(chunk_size_line(buf, 0xabcdef), "abcdef\r\n");
  EXPECT_EQ(chunk_size_line(buf, SIZE_MAX), "ffffffffffffffff\r\n");
}

TEST(HeadWriter, HeadLargerThanItsFirstBufferGrows) {
  std::string out;
  std::string expected = "HTTP/1.1 200 OK\r\n";
  {
    HeadWriter w(out);
    w.status_line(200, "OK");
    for (int i = 0; i < 200; ++i) {
      const std::string name = "X-Field-" + std::to_string(i);
      const std::string value(i % 37, static_cast<char>('a' + i % 26));
      w.field(name, value);
      expected += name + ": " + value + "\r\n";
    }
    w.field("Host", {"[", "::1", "]", ":", "8080"});
    expected += "Host: [::1]:8080\r\n\r\n";
    EXPECT_EQ(w.finish(), expected);
  }
  EXPECT_EQ(out, expected);
  EXPECT_GT(out.size(), 4096u);
}

TEST(HeadWriter, UnfinishedHeadLeavesOnlyWhatWasWritten) {
  std::string out = "old";
  {
    HeadWriter w(out);
    w.status_line(204, "No Content");
  }
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\n");
}
