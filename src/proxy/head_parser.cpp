#include "head_parser.hpp"

#include <emmintrin.h>  // SSE2, part of x86-64

#include <algorithm>
#include <array>
#include <cstring>

#include "olla/proxy/header_rules.hpp"

namespace olla::proxy {

namespace http = boost::beast::http;
using boost::system::error_code;

namespace detail {

HeadState::HeadState(HeadStorage& storage) : s(storage) { reset(); }

void HeadState::reset() {
  s.bytes.clear();
  s.fields.clear();
  s.spans.clear();
  first_at = first_size = second_at = second_size = 0;
}

std::size_t HeadState::keep(std::string_view v) {
  const auto at = s.bytes.size();
  s.bytes.append(v.data(), v.size());
  return at;
}

void HeadState::add_field(http::field name, std::string_view name_string, std::string_view value) {
  // Trailer fields of a chunked body come after the head is complete and its views are taken:
  // they are not kept (the relay writes its own last chunk, without trailers), and `bytes` must
  // not grow under those views.
  if (header_done) return;
  const auto name_at = keep(name_string);
  const auto value_at = keep(value);
  s.spans.push_back({name, name_at, name_string.size(), value_at, value.size()});
}

void HeadState::done() {
  header_done = true;
  const std::string_view bytes = s.bytes;
  first = bytes.substr(first_at, first_size);
  second = bytes.substr(second_at, second_size);
  s.fields.reserve(s.spans.size());
  for (const auto& sp : s.spans) {
    s.fields.push_back({sp.name, bytes.substr(sp.name_at, sp.name_size),
                        bytes.substr(sp.value_at, sp.value_size)});
  }
}

// As http::buffer_body's reader: what fits in the caller's buffer, need_buffer for the rest.
std::size_t HeadState::take_body(std::string_view b, error_code& ec) {
  if (!body) {
    ec = http::error::need_buffer;
    return 0;
  }
  const auto n = std::min(room, b.size());
  if (n) std::memcpy(body, b.data(), n);
  body += n;
  room -= n;
  if (n < b.size()) ec = http::error::need_buffer;
  return n;
}

template <bool isRequest>
void BeastHead<isRequest>::on_request_impl(http::verb method, string_view method_string,
                                           string_view target, int version, error_code&) {
  if (st_.header_done) return;  // the stand-in head of HeadParser::to_beast_body
  st_.method = method;
  st_.version = version;
  st_.first_at = st_.keep(method_string);
  st_.first_size = method_string.size();
  st_.second_at = st_.keep(target);
  st_.second_size = target.size();
}

template <bool isRequest>
void BeastHead<isRequest>::on_response_impl(int code, string_view reason, int version,
                                            error_code&) {
  if (st_.header_done) return;  // the stand-in head of HeadParser::to_beast_body
  st_.status = code;
  st_.version = version;
  st_.first_at = st_.keep(reason);
  st_.first_size = reason.size();
}

template <bool isRequest>
void BeastHead<isRequest>::on_field_impl(http::field name, string_view name_string,
                                         string_view value, error_code&) {
  st_.add_field(name, name_string, value);
}

template class BeastHead<true>;
template class BeastHead<false>;

}  // namespace detail

namespace {

// RFC 9110 tchar, as Beast's is_token_char.
constexpr std::array<bool, 256> kToken = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// A request target's bytes, as Beast's is_pathchar: all but controls, space and DEL.
bool is_pathchar(unsigned char c) { return c > 0x20 && c != 0x7f; }

// The first byte from p that ends a field value or reason phrase as Beast's parse_token_to_eol
// sees it (a control other than HTAB, or DEL), or e. 16 bytes a step.
const char* text_end(const char* p, const char* e) {
  const __m128i space = _mm_set1_epi8(0x20), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
  const __m128i minus_one = _mm_set1_epi8(-1);
  while (e - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // 0x00-0x1f as signed bytes are 0..31; 0x80-0xff are negative and allowed.
    const __m128i ctl = _mm_and_si128(_mm_cmpgt_epi8(v, minus_one), _mm_cmplt_epi8(v, space));
    const __m128i stop =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl), _mm_cmpeq_epi8(v, del));
    if (const int mask = _mm_movemask_epi8(stop))
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
  for (; p < e; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return p;
  }
  return e;
}

// "HTTP/1.0" or "HTTP/1.1" (the only versions Beast accepts): 10 or 11, else 0.
int version_at(const char* p) {
  if (std::memcmp(p, "HTTP/1.", 7) != 0) return 0;
  return p[7] == '1' ? 11 : p[7] == '0' ? 10 : 0;
}

}  // namespace

template <bool isRequest>
std::string_view HeadParser<isRequest>::value_of(http::field name) const {
  for (const auto& f : st_.s.fields) {
    if (f.name == name) return f.value;
  }
  return {};
}

template <bool isRequest>
bool HeadParser<isRequest>::keep_alive() const {
  if (beast_ && !beast_body_) return beast_->keep_alive();
  return st_.version >= 11 ? !close_ : keep_alive_token_;
}

template <bool isRequest>
std::size_t HeadParser<isRequest>::to_beast(boost::asio::const_buffer buffer, error_code& ec) {
  st_.reset();  // the fields the fast path saw before it declined
  beast_.emplace(st_);
  beast_->header_limit(header_limit_);
  beast_->body_limit(body_limit_);
  if (skip_) beast_->skip(true);
  return beast_->put(buffer, ec);
}

template <bool isRequest>
std::size_t HeadParser<isRequest>::put(boost::asio::const_buffer buffer, error_code& ec) {
  if (beast_) {
    // Past the head, one put takes every chunk the bytes hold, as far as the body buffer has
    // room: chunks that arrived together (the last data chunk and the end of the body, frames of
    // a fast stream) go out in one write instead of one each.
    if (beast_->is_header_done()) beast_->eager(true);
    return beast_->put(buffer, ec);
  }
  const auto* p = static_cast<const char*>(buffer.data());
  const auto n = buffer.size();
  ec = {};
  switch (mode_) {
    case Mode::fresh: {
      if (n == 0) {
        ec = http::error::need_more;
        return 0;
      }
      const auto head = fast_head(p, n);
      if (head == 0) return to_beast(buffer, ec);
      return head;
    }
    case Mode::body: {
      const auto used =
          st_.take_body({p, static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n))}, ec);
      remaining_ -= used;
      if (remaining_ == 0) mode_ = Mode::done;
      return used;
    }
    case Mode::chunks:
      return put_chunks(p, n, ec);
    case Mode::done:
      break;
  }
  ec = http::error::stale_parser;
  return 0;
}

template <bool isRequest>
void HeadParser<isRequest>::put_eof(error_code& ec) {
  if (beast_) return beast_->put_eof(ec);
  // A fast-path message has a length: ending before it is whole is a partial message.
  ec = mode_ == Mode::done ? error_code{} : error_code(http::error::partial_message);
}

namespace {

// A hex digit's value, or -1: a chunk size line is read a table look-up per byte.
constexpr std::array<signed char, 256> kHex = [] {
  std::array<signed char, 256> t{};
  t.fill(-1);
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<signed char>(c);
  for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<signed char>(10 + c);
  return t;
}();

}  // namespace

// A chunked body the fast path took, parsed as Beast's eager parser would (every chunk the bytes
// hold, as far as the body buffer has room) in the plain form of the grammar: a size line of hex
// digits alone, the data, CRLF; the end a size of 0 and an empty line. At a size line in any
// other form (extensions, trailer fields, a malformed line), Beast's parser takes the body over
// from that line (to_beast_body), so both give the same result.
template <bool isRequest>
std::size_t HeadParser<isRequest>::put_chunks(const char* data, std::size_t n, error_code& ec) {
  const char* p = data;
  const char* const e = data + n;
  const auto used = [&] { return static_cast<std::size_t>(p - data); };
  // A size line in a form the fast path does not take (or an error): Beast's from that line.
  const auto hand_over = [&](const char* line) {
    p = line;
    crlf_next_ = false;
    return used() + to_beast_body(p, static_cast<std::size_t>(e - p), ec);
  };
  for (;;) {
    if (remaining_ > 0) {  // inside a chunk's data
      const auto took = st_.take_body(
          {p, static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, e - p))}, ec);
      p += took;
      remaining_ -= took;
      if (ec || remaining_ > 0) return used();  // the body buffer is full, or the bytes ran out
      crlf_next_ = true;
    }
    if (e - p < 2) {
      ec = http::error::need_more;
      return used();
    }
    const char* line = p;  // the size line, after the CRLF that ends the chunk before it
    if (crlf_next_) {
      if (p[0] != '\r' || p[1] != '\n') {
        ec = http::error::bad_chunk;  // as Beast: the data is followed by something else
        return used();
      }
      line += 2;
    }
    const char* q = line;
    std::uint64_t size = 0;
    for (int d; q < e && q - line < 15 && (d = kHex[static_cast<unsigned char>(*q)]) >= 0; ++q)
      size = size * 16 + d;
    if (q == e || (*q == '\r' && q + 1 == e)) {
      if (q - line < 15) {  // the size line is not all here yet
        ec = http::error::need_more;
        return used();
      }
    }
    if (q == line || q == e || q + 1 == e || q[0] != '\r' || q[1] != '\n') return hand_over(line);
    if (size == 0) {
      // The last chunk: without trailer fields, an empty line ends the body.
      if (e - (q + 2) < 2) {
        ec = http::error::need_more;
        return used();
      }
      if (q[2] != '\r' || q[3] != '\n') return hand_over(line);  // trailer fields
      p = q + 4;
      mode_ = Mode::done;
      ec = {};
      return used();
    }
    if (body_limit_) {
      if (size > *body_limit_) {
        ec = http::error::body_limit;
        return used();
      }
      *body_limit_ -= size;  // as Beast: the limit is on the chunks' total
    }
    p = q + 2;
    crlf_next_ = false;
    remaining_ = size;
  }
}

// Beast's parser takes over a chunked body at a size line: it is given a stand-in head that opens
// a chunked body (which leaves the real head as it is), the body limit that is left, and then the
// bytes from that line.
template <bool isRequest>
std::size_t HeadParser<isRequest>::to_beast_body(const char* data, std::size_t n, error_code& ec) {
  constexpr std::string_view head = isRequest
                                        ? "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  beast_.emplace(st_);
  beast_body_ = true;
  beast_->body_limit(body_limit_);
  error_code hec;
  beast_->put(boost::asio::buffer(head.data(), head.size()), hec);
  beast_->eager(true);
  return beast_->put(boost::asio::const_buffer(data, n), ec);
}

// The fast path: the head, if it is all in [data, data + n) within the header limit and in the
// plain form, parsed as Beast would; returns its length (the body is parsed by later puts), or 0
// when Beast is to parse the message. Nothing is kept until the head is taken.
template <bool isRequest>
std::size_t HeadParser<isRequest>::fast_head(const char* data, std::size_t n) {
  const char* p = data;
  const char* const e = data + std::min<std::size_t>(n, header_limit_);
  auto& spans = st_.s.spans;
  spans.clear();
  std::size_t first_at = 0, first_size = 0, second_at = 0, second_size = 0;
  const auto at = [&](const char* q) { return static_cast<std::size_t>(q - data); };

  // The start line.
  int version = 0;
  unsigned status = 0;
  if constexpr (isRequest) {
    while (p < e && kToken[static_cast<unsigned char>(*p)]) ++p;
    if (p == data || p == e || *p != ' ') return 0;
    first_size = at(p);
    second_at = at(++p);
    while (p < e && is_pathchar(static_cast<unsigned char>(*p))) ++p;
    if (at(p) == second_at || e - p < 11 || *p != ' ') return 0;
    second_size = at(p) - second_at;
    version = version_at(++p);
    if (version == 0 || p[8] != '\r' || p[9] != '\n') return 0;
    p += 10;
  } else {
    if (e - p < 13) return 0;
    version = version_at(p);
    if (version == 0 || p[8] != ' ') return 0;
    p += 9;
    for (int i = 0; i < 3; ++i, ++p) {
      if (*p < '0' || *p > '9') return 0;
      status = status * 10 + static_cast<unsigned>(*p - '0');
    }
    if (*p++ != ' ') return 0;
    first_at = at(p);
    p = text_end(p, e);
    if (e - p < 2 || p[0] != '\r' || p[1] != '\n') return 0;
    first_size = at(p) - first_at;
    p += 2;
  }

  // The fields, and what decides about the framing.
  bool close = false, keep_alive = false, chunked = false;
  boost::optional<std::uint64_t> length;
  for (;;) {
    if (e - p < 2) return 0;
    if (p[0] == '\r') {
      if (p[1] != '\n') return 0;
      p += 2;
      break;
    }
    const char* const name = p;
    while (p < e && kToken[static_cast<unsigned char>(*p)]) ++p;
    if (p == name || p == e || *p != ':') return 0;
    const std::string_view name_string(name, static_cast<std::size_t>(p - name));
    ++p;
    while (p < e && (*p == ' ' || *p == '\t')) ++p;
    const char* const value = p;
    p = text_end(p, e);
    // CRLF, and a next line that does not continue this one (obs-fold is left to Beast).
    if (e - p < 3 || p[0] != '\r' || p[1] != '\n' || p[2] == ' ' || p[2] == '\t') return 0;
    const char* end = p;
    while (end > value && (end[-1] == ' ' || end[-1] == '\t')) --end;
    const std::string_view v(value, static_cast<std::size_t>(end - value));
    p += 2;

    const auto code = http::string_to_field(name_string);
    switch (code) {
      case http::field::connection:
        if (iequals(v, "close")) {
          close = true;
        } else if (iequals(v, "keep-alive")) {
          keep_alive = true;
        } else {
          return 0;
        }
        break;
      case http::field::content_length: {
        if (length || v.empty() || v.size() > 19) return 0;
        std::uint64_t len = 0;
        for (char c : v) {
          if (c < '0' || c > '9') return 0;
          len = len * 10 + static_cast<std::uint64_t>(c - '0');
        }
        length = len;
        break;
      }
      case http::field::transfer_encoding:
        // One field, exactly "chunked"; any other coding or list is Beast's.
        if (chunked || !iequals(v, "chunked")) return 0;
        chunked = true;
        break;
      case http::field::proxy_connection:
        return 0;
      default:
        break;
    }
    spans.push_back({code, at(name), name_string.size(), at(value), v.size()});
  }

  // The framing: no body, one of a known length, or an HTTP/1.1 chunked one that a body may have
  // (a chunked head with a length too, and close-delimited bodies, go to Beast).
  bool body = false;
  if constexpr (isRequest) {
    if (chunked && (length || version != 11 || skip_)) return 0;
    body = !skip_ && length && *length > 0;
  } else {
    const bool bodiless = skip_ || status / 100 == 1 || status == 204 || status == 304;
    if (chunked && (length || version != 11 || bodiless)) return 0;
    if (!bodiless && !length && !chunked) return 0;
    body = !bodiless && length && *length > 0;
  }
  if (length && body_limit_ && *length > *body_limit_) return 0;

  // Taken: the head's bytes into the storage, the views into them.
  const std::size_t size = at(p);
  st_.s.bytes.assign(data, size);
  st_.s.fields.clear();
  st_.version = version;
  st_.status = static_cast<int>(status);
  if constexpr (isRequest) st_.method = http::string_to_verb({data, first_size});
  st_.first_at = first_at;
  st_.first_size = first_size;
  st_.second_at = second_at;
  st_.second_size = second_size;
  st_.done();
  close_ = close;
  keep_alive_token_ = keep_alive;
  length_ = length;
  chunked_ = chunked;
  remaining_ = body ? *length : 0;
  mode_ = chunked ? Mode::chunks : body ? Mode::body : Mode::done;
  return size;
}

template class HeadParser<true>;
template class HeadParser<false>;

}  // namespace olla::proxy
