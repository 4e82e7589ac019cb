#include "policy/py_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "core/json_writer.hpp"
#include "core/utf8.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

struct LowerRun {
  std::uint32_t first;
  std::uint32_t last;
  std::int32_t delta;
  std::uint32_t step;
};

constexpr LowerRun kLowerRuns[] = {
#include "policy/unicode_lower_table.inc"
};

/// The single-code-point lowercase mapping (U+03A3 and U+0130 are handled by the caller).
char32_t simple_lower(char32_t cp) noexcept {
  const auto* end = std::end(kLowerRuns);
  // The last run that starts at or before cp.
  const auto* it = std::upper_bound(std::begin(kLowerRuns), end, static_cast<std::uint32_t>(cp),
                                    [](std::uint32_t c, const LowerRun& run) { return c < run.first; });
  if (it == std::begin(kLowerRuns)) return cp;
  --it;
  if (cp > it->last || (cp - it->first) % it->step != 0) return cp;
  return static_cast<char32_t>(static_cast<std::int64_t>(cp) + it->delta);
}

/// Character classes from PCRE2's Unicode tables, compiled once and kept for the process (no
/// destructor to race with a thread that redacts during exit).
struct Properties {
  std::unique_ptr<Regex> printable;
  std::unique_ptr<Regex> cased;
  std::unique_ptr<Regex> case_ignorable;
};

const Properties& properties() {
  static const Properties* const instance = [] {
    auto p = std::make_unique<Properties>();
    std::string error;
    // str.isprintable(): not Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (ASCII space is handled by the caller).
    p->printable = Regex::compile_pcre2("[^\\p{Cc}\\p{Cf}\\p{Cs}\\p{Co}\\p{Cn}\\p{Zl}\\p{Zp}\\p{Zs}]", error);
    p->cased = Regex::compile_pcre2("\\p{Cased}", error);
    p->case_ignorable = Regex::compile_pcre2("\\p{Case_Ignorable}", error);
    if (!p->printable || !p->cased || !p->case_ignorable) {
      throw std::runtime_error("PCRE2 lacks Unicode properties: " + error);
    }
    return p.release();
  }();
  return *instance;
}

char32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto byte = static_cast<unsigned char>(s[i]);
  if (byte < 0x80) {
    ++i;
    return byte;
  }
  std::uint32_t cp = 0;
  const std::size_t n = decode_utf8(s, i, cp);
  if (n == 0) {
    ++i;
    return 0xFFFD;
  }
  i += n;
  return cp;
}

/// CPython's handle_capital_sigma: U+03A3 lowercases to the final form when a cased letter
/// precedes it and none follows it, case-ignorable characters skipped on both sides.
char32_t lower_sigma(const std::u32string& cps, std::size_t i, MatchScope& scope) {
  const Properties& p = properties();
  std::size_t j = i;
  char32_t c = 0;
  bool found = false;
  while (j > 0) {
    c = cps[--j];
    if (!scope.matches_code_point(*p.case_ignorable, c)) {
      found = true;
      break;
    }
  }
  bool final_sigma = found && scope.matches_code_point(*p.cased, c);
  if (final_sigma) {
    for (j = i + 1; j < cps.size(); ++j) {
      if (!scope.matches_code_point(*p.case_ignorable, cps[j])) break;
    }
    final_sigma = j == cps.size() || !scope.matches_code_point(*p.cased, cps[j]);
  }
  return final_sigma ? 0x3C2 : 0x3C3;
}

const char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint32_t value, int digits) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kHex[(value >> shift) & 0xF]);
}

void append_str_repr(std::string& out, std::string_view s, MatchScope& scope) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back(quote);
  std::size_t i = 0;
  while (i < s.size()) {
    const char32_t cp = next_code_point(s, i);
    if (cp == static_cast<unsigned char>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp >= 0x20 && cp < 0x7F) {
      out.push_back(static_cast<char>(cp));
    } else if (cp >= 0x80 && py_isprintable(cp, scope)) {
      append_utf8(out, cp);  // an invalid byte was read as U+FFFD, and is written as such
    } else if (cp <= 0xFF) {
      out += "\\x";
      append_hex(out, cp, 2);
    } else if (cp <= 0xFFFF) {
      out += "\\u";
      append_hex(out, cp, 4);
    } else {
      out += "\\U";
      append_hex(out, cp, 8);
    }
  }
  out.push_back(quote);
}

template <class Int>
void append_integer(std::string& out, Int value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

}  // namespace

void py_lower(std::string_view text, std::string& out, MatchScope& scope) {
  out.clear();
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    out.assign(text);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return;
  }
  std::u32string cps;
  cps.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) cps.push_back(next_code_point(text, i));
  out.reserve(text.size() + 4);
  for (std::size_t k = 0; k < cps.size(); ++k) {
    const char32_t cp = cps[k];
    if (cp == 0x3A3) {
      append_utf8(out, lower_sigma(cps, k, scope));
    } else if (cp == 0x130) {
      out += "i\xCC\x87";  // LATIN SMALL LETTER I + COMBINING DOT ABOVE
    } else {
      append_utf8(out, simple_lower(cp));
    }
  }
}

bool py_isprintable(char32_t cp, MatchScope& scope) {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7F;
  return scope.matches_code_point(*properties().printable, cp);
}

void append_pyrepr(std::string& out, const nlohmann::json& value, int depth, MatchScope& scope) {
  using T = nlohmann::json::value_t;
  if ((value.is_array() || value.is_object()) && depth > kMaxJsonDepth) {
    append_str_repr(out, json_depth_marker(), scope);
    return;
  }
  switch (value.type()) {
    case T::null:
    case T::discarded:
    case T::binary:
      out += "None";
      return;
    case T::boolean:
      out += value.get<bool>() ? "True" : "False";
      return;
    case T::number_integer:
      append_integer(out, value.get<std::int64_t>());
      return;
    case T::number_unsigned:
      append_integer(out, value.get<std::uint64_t>());
      return;
    case T::number_float:
      write_python_float(out, value.get<double>());
      return;
    case T::string:
      append_str_repr(out, value.get_ref<const std::string&>(), scope);
      return;
    case T::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ", ";
        first = false;
        append_pyrepr(out, item, depth + 1, scope);
      }
      out.push_back(']');
      return;
    }
    case T::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        append_str_repr(out, it.key(), scope);
        out += ": ";
        append_pyrepr(out, it.value(), depth + 1, scope);
      }
      out.push_back('}');
      return;
    }
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
