// Python's int() and float() conversions of JSON values, as the reference applies them to
// seq and duration_ms fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "analysis/json_view.hpp"

namespace promptetheus::analysis {

/// float(s) for a str: surrounding whitespace, sign, digits with single '_' separators,
/// fraction, exponent, "inf"/"infinity"/"nan" in any case. nullopt when Python raises.
std::optional<double> py_float_from_string(std::string_view s);
/// int(s) for a str (base 10). nullopt when Python raises. Saturates outside int64.
std::optional<std::int64_t> py_int_from_string(std::string_view s);

/// float(v) for a JSON number or numeric string; nullopt for bool, null and anything else.
std::optional<double> py_float(const JsonView& v);
/// int(v) for a JSON number (truncating floats) or numeric string; nullopt for bool, null,
/// NaN, infinities and anything else. Saturates outside int64.
std::optional<std::int64_t> py_int(const JsonView& v);

}  // namespace promptetheus::analysis
