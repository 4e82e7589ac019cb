// The canonical JSON writer: the JSON-spool form of contract §1.8 (keys sorted by code point,
// compact separators, ASCII-only with \uXXXX escapes as Python's json.dumps writes them).
// Differences from the reference, by design: NaN and +-Infinity are written as null, and invalid
// UTF-8 is replaced by U+FFFD, and containers nested deeper than kMaxJsonDepth are written as a
// marker string. Nothing here throws except std::bad_alloc.
#pragma once

#include "promptetheus/export.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Arrays and objects nested deeper than this many levels in a user's value are written as
/// json_depth_marker(): a value of any depth must not overflow a stack on the caller's thread
/// or the worker's, which walk it recursively up to this depth only.
constexpr int kMaxJsonDepth = 128;
/// "[truncated: nested deeper than 128 levels]"
const std::string& json_depth_marker();
/// Replaces, in place, every container nested deeper than kMaxJsonDepth with the marker, as the
/// writer would write it. For a user's value the SDK keeps and copies (session metadata):
/// nlohmann::json copies recursively, so an unbounded value would overflow the caller's stack.
void bound_json_depth(nlohmann::json& value);

/// A JSON string literal with quotes, escaped as Python's json.dumps(ensure_ascii=True) writes
/// it: the one JSON string escaping of the SDK and the tools. Invalid UTF-8 is written as
/// U+FFFD, one byte at a time.
void write_json_string(std::string& out, std::string_view text);
/// Decodes the sequence at s[i] (a byte >= 0x80): returns its length and sets `cp`, or returns 0
/// for a byte to be written as U+FFFD. decode_utf8 (core/utf8.hpp) is the strict one.
using Utf8Decoder = std::size_t (*)(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept;
/// write_json_string with another reading of non-ASCII bytes (the analysis tools keep lone
/// surrogates that JSON `\ud800` escapes decode to).
void write_json_string(std::string& out, std::string_view text, Utf8Decoder decode);
/// A float as Python's repr() writes it (shortest round trip; "1e-07", "1e+16", "100.0"), NaN
/// and +-Infinity as "nan", "inf" and "-inf": the one float repr of the SDK and the tools.
void write_python_float(std::string& out, double value);
/// A float in JSON: write_python_float for finite values, null for NaN and +-Infinity.
void write_json_double(std::string& out, double value);
/// Any JSON value, object keys sorted, containers deeper than kMaxJsonDepth as the marker.
void write_json(std::string& out, const nlohmann::json& value);
/// A payload value.
void write_value(std::string& out, const Value& value);
/// The whole event envelope (no trailing newline).
void write_event(std::string& out, const Event& event);

/// Convenience: the canonical form of `value` as a string.
std::string canonical_json(const nlohmann::json& value);

PROMPTETHEUS_END_DETAIL_NAMESPACE
