// The few Python `str` behaviours redaction depends on: str.lower() for key comparisons,
// str.isprintable() and repr() for hashing a non-string value (contract §7.7, §7.9).
//
// Why not src/analysis/pyrepr and unicode: they read analysis::JsonView (a parser that keeps
// number literals) and take their Unicode tables from ICU. Moving them into the SDK would bring
// that parser and ICU into libpromptetheus; the SDK's values are nlohmann::json, and the Unicode
// properties needed here come from PCRE2 (same Unicode version as Python 3.11), which redaction
// links anyway. What is repeated is small: repr of str, int, float (core/json_writer.hpp's
// write_python_float, the one float repr), list and dict.
#pragma once

#include "promptetheus/export.hpp"

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/regex.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Python's str.lower() of `text` into `out`: the full lowercase mapping (U+0130 becomes
/// "i\u0307") with the final-sigma rule. Bytes that are not valid UTF-8 are read as U+FFFD.
void py_lower(std::string_view text, std::string& out, MatchScope& scope);

/// Python's str.isprintable() for one code point.
bool py_isprintable(char32_t cp, MatchScope& scope);

/// repr() of the Python value json.loads gives for `value`: None, True, False, ints, floats as
/// repr() writes them, str with Python's quoting and escapes, [a, b] and {'k': v} (keys in the
/// object's order). `depth` is the nesting level of `value`; a container deeper than
/// kMaxJsonDepth is written as the repr of core/json_writer.hpp's depth marker, as the writer
/// would have cut it. `text` strings must be valid UTF-8.
void append_pyrepr(std::string& out, const nlohmann::json& value, int depth, MatchScope& scope);

PROMPTETHEUS_END_DETAIL_NAMESPACE
