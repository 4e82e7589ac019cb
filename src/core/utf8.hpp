// Strict UTF-8 decoding, one sequence at a time: the one rule for what counts as valid UTF-8
// (used by the canonical JSON writer and by the analysis readers); and the one UTF-8 encoder.
#pragma once

#include "promptetheus/export.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Decodes the multi-byte sequence that starts at s[i] (s[i] >= 0x80). Returns its length and
/// sets `cp`, or returns 0 when the bytes are not valid UTF-8: overlong forms, surrogates, values
/// above U+10FFFF and truncated sequences are invalid.
inline std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

/// Whether all of `s` is valid UTF-8 by decode_utf8's rules.
inline bool valid_utf8(std::string_view s) noexcept {
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = decode_utf8(s, i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

/// Appends code point `cp` as UTF-8; a value above U+10FFFF as U+FFFD. (Surrogates are encoded
/// as they are: the callers that decode JSON escapes join or refuse them first.)
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
