#include "analysis/json_view.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <limits>

#include "analysis/unicode.hpp"
#include "core/utf8.hpp"

namespace promptetheus::analysis {

namespace {

constexpr int kMaxDepth = 900;              // Python's recursion limit is hit at about this depth
constexpr std::size_t kMaxIntDigits = 4300;  // Python's int_max_str_digits default

// Byte classes inside a JSON string: 0 plain, 1 quote, 2 backslash, 3 control, 4 non-ASCII.
struct StringClasses {
  unsigned char c[256];
  constexpr StringClasses() : c() {
    for (int i = 0; i < 256; ++i) c[i] = i < 0x20 ? 3 : i >= 0x80 ? 4 : 0;
    c[static_cast<unsigned char>('"')] = 1;
    c[static_cast<unsigned char>('\\')] = 2;
  }
};
constexpr StringClasses kStringClasses;

inline bool is_ws(char ch) noexcept { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
inline bool is_digit(char ch) noexcept { return ch >= '0' && ch <= '9'; }
inline bool is_hex(char ch) noexcept {
  return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
/// Non-zero when some byte of x is zero.
inline std::uint64_t has_zero_byte(std::uint64_t x) noexcept { return (x - kOnes) & ~x & kHighs; }
/// Non-zero when some byte of x is '"', '\\', a control character or non-ASCII.
inline std::uint64_t has_string_special(std::uint64_t x) noexcept {
  return has_zero_byte(x ^ (kOnes * '"')) | has_zero_byte(x ^ (kOnes * '\\')) |
         ((x - kOnes * 0x20) & ~x & kHighs) | (x & kHighs);
}
/// Non-zero when some byte of x is '"' or '\\'.
inline std::uint64_t has_quote_or_backslash(std::uint64_t x) noexcept {
  return has_zero_byte(x ^ (kOnes * '"')) | has_zero_byte(x ^ (kOnes * '\\'));
}

class Validator {
 public:
  Validator(const char* p, const char* end, MemberHook hook = nullptr, void* context = nullptr)
      : p_(p), end_(end), hook_(hook), context_(context) {}

  bool value(int depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '"': return string();
      case '{': return object(depth);
      case '[': return array(depth);
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      case 'N': return literal("NaN");
      case 'I': return literal("Infinity");
      default: return number();
    }
  }

  void ws() {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }
  const char* pos() const { return p_; }

 private:
  bool literal(const char* word) {
    const std::size_t n = std::strlen(word);
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  bool number() {
    const char* start = p_;
    if (*p_ == '-') {
      ++p_;
      if (p_ < end_ && *p_ == 'I') return literal("Infinity");
    }
    if (p_ >= end_ || !is_digit(*p_)) return false;
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    const std::size_t int_digits = static_cast<std::size_t>(p_ - digits);
    bool integer = true;
    if (p_ + 1 < end_ && *p_ == '.' && is_digit(p_[1])) {
      integer = false;
      p_ += 2;
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      const char* q = p_ + 1;
      if (q < end_ && (*q == '+' || *q == '-')) ++q;
      if (q < end_ && is_digit(*q)) {
        integer = false;
        while (q < end_ && is_digit(*q)) ++q;
        p_ = q;
      }
    }
    (void)start;
    return !(integer && int_digits > kMaxIntDigits);
  }

  bool string() {
    ++p_;  // opening quote
    for (;;) {
      // Eight bytes at a time while none needs attention (most of a spool line).
      while (end_ - p_ >= 8 && !has_string_special(load8(p_))) p_ += 8;
      while (p_ < end_ && kStringClasses.c[static_cast<unsigned char>(*p_)] == 0) ++p_;
      if (p_ >= end_) return false;
      switch (kStringClasses.c[static_cast<unsigned char>(*p_)]) {
        case 1:
          ++p_;
          return true;
        case 2:
          if (!escape()) return false;
          break;
        case 3:
          return false;
        default:
          if (!utf8_sequence()) return false;
          break;
      }
    }
  }

  bool escape() {
    ++p_;
    if (p_ >= end_) return false;
    switch (*p_) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        ++p_;
        return true;
      case 'u':
        if (end_ - p_ < 5) return false;
        for (int k = 1; k <= 4; ++k) {
          if (!is_hex(p_[k])) return false;
        }
        p_ += 5;
        return true;
      default:
        return false;
    }
  }

  bool utf8_sequence() {
    std::uint32_t cp = 0;
    const std::size_t len = detail::decode_utf8(std::string_view(p_, static_cast<std::size_t>(end_ - p_)), 0, cp);
    if (len == 0) return false;
    p_ += len;
    return true;
  }

  bool object(int depth) {
    if (depth >= kMaxDepth) return false;
    ++p_;
    ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      const char* key = p_;
      if (p_ >= end_ || *p_ != '"' || !string()) return false;
      const char* key_end = p_;
      ws();
      if (p_ >= end_ || *p_ != ':') return false;
      ++p_;
      ws();
      const char* member = p_;
      if (!value(depth + 1)) return false;
      if (depth == 0 && hook_) {
        hook_(context_, JsonView(JsonKind::string, std::string_view(key, static_cast<std::size_t>(key_end - key))),
              JsonView(json_detail::kind_of(*member), std::string_view(member, static_cast<std::size_t>(p_ - member))));
      }
      ws();
      if (p_ >= end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }

  bool array(int depth) {
    if (depth >= kMaxDepth) return false;
    ++p_;
    ws();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!value(depth + 1)) return false;
      ws();
      if (p_ >= end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }

  const char* p_;
  const char* end_;
  MemberHook hook_;
  void* context_;
};

unsigned hex_value(char ch) noexcept {
  if (ch >= '0' && ch <= '9') return static_cast<unsigned>(ch - '0');
  if (ch >= 'a' && ch <= 'f') return static_cast<unsigned>(ch - 'a' + 10);
  return static_cast<unsigned>(ch - 'A' + 10);
}

unsigned hex4(const char* p) noexcept {
  return (hex_value(p[0]) << 12) | (hex_value(p[1]) << 8) | (hex_value(p[2]) << 4) | hex_value(p[3]);
}

}  // namespace

namespace json_detail {

const char* skip_ws(const char* p, const char* end) noexcept {
  while (p < end && is_ws(*p)) ++p;
  return p;
}

JsonKind kind_of(char first) noexcept {
  switch (first) {
    case '"': return JsonKind::string;
    case '{': return JsonKind::object;
    case '[': return JsonKind::array;
    case 't': case 'f': return JsonKind::boolean;
    case 'n': return JsonKind::null;
    default: return JsonKind::number;
  }
}

namespace {
inline const char* skip_string(const char* p, const char* end) noexcept {
  ++p;
  for (;;) {
    while (end - p >= 8 && !has_quote_or_backslash(load8(p))) p += 8;
    if (p >= end) return end;
    if (*p == '"') return p + 1;
    if (*p == '\\') {
      p += 2;  // the escaped character (validated text: never past the closing quote)
      continue;
    }
    ++p;
  }
}
}  // namespace

const char* skip_value(const char* p, const char* end) noexcept {
  if (p >= end) return end;
  switch (*p) {
    case '"':
      return skip_string(p, end);
    case '{':
    case '[': {
      int depth = 0;
      while (p < end) {
        const char ch = *p;
        if (ch == '"') {
          p = skip_string(p, end);
          continue;
        }
        if (ch == '{' || ch == '[') {
          ++depth;
        } else if (ch == '}' || ch == ']') {
          if (--depth == 0) return p + 1;
        }
        ++p;
      }
      return end;
    }
    default:
      while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ':' && !is_ws(*p)) ++p;
      return p;
  }
}

}  // namespace json_detail

JsonView parse_json(std::string_view text) noexcept { return parse_json(text, nullptr, nullptr); }

JsonView parse_json(std::string_view text, MemberHook on_top_member, void* context) noexcept {
  if (text.size() >= UINT32_MAX) return {};
  const char* begin = text.data();
  const char* end = begin + text.size();
  Validator v(begin, end, on_top_member, context);
  v.ws();
  const char* start = v.pos();
  if (!v.value(0)) return {};
  const char* value_end = v.pos();
  v.ws();
  if (v.pos() != end) return {};
  return JsonView(json_detail::kind_of(*start),
                  std::string_view(start, static_cast<std::size_t>(value_end - start)));
}

JsonView JsonView::get(std::string_view key) const noexcept {
  JsonView found;
  for_each_member([&](const JsonView& k, const JsonView& v) {
    std::string_view body;
    if (k.plain_string(body) ? body == key : k.as_string() == key) found = v;
  });
  return found;
}

bool JsonView::empty_container() const noexcept {
  if (kind_ != JsonKind::object && kind_ != JsonKind::array) return false;
  const char* p = json_detail::skip_ws(data_ + 1, data_ + size_);
  return *p == '}' || *p == ']';
}

bool JsonView::plain_string(std::string_view& body) const noexcept {
  if (kind_ != JsonKind::string) return false;
  body = std::string_view(data_ + 1, size_ - 2);
  return std::memchr(body.data(), '\\', body.size()) == nullptr;
}

bool JsonView::string_equals(std::string_view s) const {
  std::string_view body;
  if (plain_string(body)) return body == s;
  return kind_ == JsonKind::string && as_string() == s;
}

std::string JsonView::as_string() const {
  std::string out;
  if (kind_ != JsonKind::string) return out;
  const std::string_view body(data_ + 1, size_ - 2);
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size();) {
    const char ch = body[i];
    if (ch != '\\') {
      const std::size_t next = body.find('\\', i);
      const std::size_t stop = next == std::string_view::npos ? body.size() : next;
      out.append(body.data() + i, stop - i);
      i = stop;
      continue;
    }
    const char esc = body[i + 1];
    i += 2;
    switch (esc) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        char32_t cp = hex4(body.data() + i);
        i += 4;
        // A high surrogate followed by an escaped low surrogate is one code point.
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= body.size() && body[i] == '\\' &&
            body[i + 1] == 'u') {
          const char32_t lo = hex4(body.data() + i + 2);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(esc); break;  // '"', '\\', '/'
    }
  }
  return out;
}

bool JsonView::is_integer_literal() const noexcept {
  if (kind_ != JsonKind::number) return false;
  for (char ch : raw()) {
    if (ch == '.' || ch == 'e' || ch == 'E' || ch == 'N' || ch == 'I') return false;
  }
  return true;
}

double JsonView::as_double() const noexcept {
  if (kind_ != JsonKind::number) return 0.0;
  const std::string_view text = raw();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  char buf[128];
  if (text.size() < sizeof buf) {
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    return std::strtod(buf, nullptr);
  }
  const std::string copy(text);
  return std::strtod(copy.c_str(), nullptr);
}

}  // namespace promptetheus::analysis
