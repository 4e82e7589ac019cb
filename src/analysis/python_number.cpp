#include "analysis/python_number.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "analysis/unicode.hpp"

namespace promptetheus::analysis {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

/// Removes '_' separators, which Python allows only between two digits. Returns false if an
/// underscore is misplaced.
bool strip_underscores(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '_') {
      if (i == 0 || i + 1 >= in.size() || !is_digit(in[i - 1]) || !is_digit(in[i + 1])) return false;
      continue;
    }
    out.push_back(in[i]);
  }
  return true;
}

std::int64_t saturate(long double v) {
  if (v >= static_cast<long double>(std::numeric_limits<std::int64_t>::max())) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (v <= static_cast<long double>(std::numeric_limits<std::int64_t>::min())) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(v);
}

}  // namespace

std::optional<double> py_float_from_string(std::string_view s) {
  s = py_strip(s);
  std::string t;
  if (!strip_underscores(s, t) || t.empty()) return std::nullopt;
  std::string_view body = t;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (equals_ignore_case(body, "inf") || equals_ignore_case(body, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (equals_ignore_case(body, "nan")) return std::numeric_limits<double>::quiet_NaN();
  // digits [. digits] [e[+-]digits], with at least one digit in the mantissa.
  std::size_t i = 0;
  std::size_t mantissa_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++mantissa_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    if (i >= body.size() || !is_digit(body[i])) return std::nullopt;
    while (i < body.size() && is_digit(body[i])) ++i;
  }
  if (i != body.size()) return std::nullopt;
  return std::strtod(t.c_str(), nullptr);
}

std::optional<std::int64_t> py_int_from_string(std::string_view s) {
  s = py_strip(s);
  std::string t;
  if (!strip_underscores(s, t) || t.empty()) return std::nullopt;
  std::string_view body = t;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty()) return std::nullopt;
  long double value = 0;
  for (char c : body) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return saturate(negative ? -value : value);
}

std::optional<double> py_float(const JsonView& v) {
  if (v.is_number()) return v.as_double();
  if (v.is_string()) return py_float_from_string(v.as_string());
  return std::nullopt;
}

std::optional<std::int64_t> py_int(const JsonView& v) {
  if (v.is_number()) {
    const std::string_view raw = v.raw();
    // Fast path: a plain non-negative literal of up to 18 digits (every spool seq).
    if (!raw.empty() && raw.size() <= 18 && is_digit(raw[0])) {
      std::int64_t value = 0;
      std::size_t i = 0;
      for (; i < raw.size() && is_digit(raw[i]); ++i) value = value * 10 + (raw[i] - '0');
      if (i == raw.size()) return value;
    }
    if (v.is_integer_literal()) return py_int_from_string(raw);
    const double d = v.as_double();
    if (!std::isfinite(d)) return std::nullopt;
    return saturate(std::trunc(static_cast<long double>(d)));
  }
  if (v.is_string()) return py_int_from_string(v.as_string());
  return std::nullopt;
}

}  // namespace promptetheus::analysis
