// Code-point helpers that reproduce Python 3 `str` semantics (isspace, isdecimal, \w, isprintable,
// lower) so that analysis output matches the reference byte for byte, including non-ASCII text.
#pragma once

#include <string>
#include <string_view>

namespace promptetheus::analysis {

/// Decodes one code point of (generalised) UTF-8 at `i` and advances `i`. Lone surrogates encoded
/// as three bytes are returned as the surrogate; any malformed byte is returned as U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) noexcept;

/// Appends `cp` as UTF-8; a surrogate is written as its three-byte form (so strings decoded from
/// JSON `\ud800` escapes survive a round trip).
void append_utf8(std::string& out, char32_t cp);

/// True when `s` is well-formed UTF-8 (no surrogates, no overlongs).
bool is_valid_utf8(std::string_view s) noexcept;

std::u32string to_u32(std::string_view utf8);
std::string to_utf8(std::u32string_view cps);

/// Python `str.isspace()` for one code point.
bool py_isspace(char32_t c) noexcept;
/// Python `\d` for `str` patterns: Unicode decimal digits (general category Nd).
bool py_isdecimal(char32_t c) noexcept;
/// Python `\w` for `str` patterns: `str.isalnum()` or '_'.
bool py_isword(char32_t c) noexcept;
/// Python `str.isprintable()` for one code point.
bool py_isprintable(char32_t c) noexcept;

/// Python `str.lower()`: full Unicode case mapping (ICU root locale, final sigma included).
std::string py_lower(std::string_view utf8);

/// Python `s[:n]` on code points.
std::string_view code_point_prefix(std::string_view utf8, std::size_t n) noexcept;

/// Python `str.strip()` (Unicode whitespace).
std::string_view py_strip(std::string_view utf8) noexcept;

}  // namespace promptetheus::analysis
