#include "analysis/unicode.hpp"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <vector>

#include "core/utf8.hpp"

namespace promptetheus::analysis {

char32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) { detail::append_utf8(out, cp); }

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t len = detail::decode_utf8(s, i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::u32string to_u32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) out.push_back(next_code_point(utf8, i));
  return out;
}

std::string to_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

bool py_isspace(char32_t c) noexcept {
  // CPython's _PyUnicode_IsWhitespace table.
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool py_isdecimal(char32_t c) noexcept {
  if (c < 0x80) return c >= '0' && c <= '9';
  return u_charType(static_cast<UChar32>(c)) == U_DECIMAL_DIGIT_NUMBER;
}

bool py_isword(char32_t c) noexcept {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  const auto cp = static_cast<UChar32>(c);
  switch (u_charType(cp)) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER: case U_OTHER_LETTER: case U_DECIMAL_DIGIT_NUMBER:
      return true;
    default:
      break;
  }
  // str.isnumeric(): any Numeric_Type (digit, decimal, numeric).
  return u_getIntPropertyValue(cp, UCHAR_NUMERIC_TYPE) != U_NT_NONE;
}

bool py_isprintable(char32_t c) noexcept {
  if (c < 0x80) return c >= 0x20 && c < 0x7F;
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_SURROGATE: case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED: case U_LINE_SEPARATOR: case U_PARAGRAPH_SEPARATOR:
    case U_SPACE_SEPARATOR:
      return false;
    default:
      return true;
  }
}

std::string py_lower(std::string_view utf8) {
  bool ascii = true;
  for (char ch : utf8) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    std::string out(utf8);
    for (char& ch : out) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    return out;
  }
  // Through UTF-16 by hand so that lone surrogates survive unchanged.
  std::vector<UChar> src;
  src.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    const char32_t cp = next_code_point(utf8, i);
    if (cp >= 0x10000) {
      src.push_back(static_cast<UChar>(0xD800 + ((cp - 0x10000) >> 10)));
      src.push_back(static_cast<UChar>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    } else {
      src.push_back(static_cast<UChar>(cp));
    }
  }
  std::vector<UChar> dst(src.size() * 3 + 16);
  UErrorCode status = U_ZERO_ERROR;
  int32_t n = u_strToLower(dst.data(), static_cast<int32_t>(dst.size()), src.data(),
                           static_cast<int32_t>(src.size()), "", &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    dst.resize(static_cast<std::size_t>(n) + 1);
    status = U_ZERO_ERROR;
    n = u_strToLower(dst.data(), static_cast<int32_t>(dst.size()), src.data(),
                     static_cast<int32_t>(src.size()), "", &status);
  }
  if (U_FAILURE(status)) return std::string(utf8);
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + 4);
  for (int32_t k = 0; k < n; ++k) {
    char32_t c = dst[static_cast<std::size_t>(k)];
    if (c >= 0xD800 && c <= 0xDBFF && k + 1 < n) {
      const char32_t lo = dst[static_cast<std::size_t>(k) + 1];
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        ++k;
      }
    }
    append_utf8(out, c);
  }
  return out;
}

std::string_view code_point_prefix(std::string_view utf8, std::size_t n) noexcept {
  std::size_t i = 0;
  for (std::size_t count = 0; count < n && i < utf8.size(); ++count) next_code_point(utf8, i);
  return utf8.substr(0, i);
}

std::string_view py_strip(std::string_view utf8) noexcept {
  std::size_t begin = 0;
  while (begin < utf8.size()) {
    std::size_t j = begin;
    if (!py_isspace(next_code_point(utf8, j))) break;
    begin = j;
  }
  std::size_t end = utf8.size();
  while (end > begin) {
    // Step back to the start of the previous code point.
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(utf8[start]) & 0xC0) == 0x80) --start;
    std::size_t j = start;
    if (!py_isspace(next_code_point(utf8, j))) break;
    end = start;
  }
  return utf8.substr(begin, end - begin);
}

}  // namespace promptetheus::analysis
