// Integer literals beyond 64 bits in request bodies. Python reads every integer literal exactly,
// so the reference server takes `"input_tokens": 18446744073709551616` as an integer and stores it
// digit for digit; nlohmann turns such a literal into an inexact double, which the event validator
// would call "not an integer". These functions keep the literal's digits beside the document.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptetheus::devserver {

/// One integer literal too large for 64 bits: where it is (JSON pointer reference tokens) and
/// its text as sent, sign included.
struct WideInteger {
  std::vector<std::string> path;
  std::string literal;
};

/// Parses `text` as nlohmann::json::parse does (returns false on malformed JSON, never throws
/// a parse error), except for integer literals beyond 64 bits: each is held in `out` as the
/// 64-bit integer of its sign nearest to it (UINT64_MAX or INT64_MIN), so it is still an integer
/// to every check, and is listed in `wide` in document order. Throws only std::bad_alloc.
bool parse_keeping_wide_integers(std::string_view text, nlohmann::json& out,
                                 std::vector<WideInteger>& wide);

/// The members of `wide` inside the value at `prefix`, with their paths made relative to it.
std::vector<WideInteger> wide_integers_under(const std::vector<WideInteger>& wide,
                                             const std::vector<std::string>& prefix);

/// The literal of the wide integer at `path`, or nullptr.
const std::string* wide_literal_at(const std::vector<WideInteger>& wide,
                                   const std::vector<std::string>& path);

/// Appends `value` with the canonical writer (detail::write_json), each of `wide` (paths relative
/// to `value`) written as its literal where `value` still holds its stand-in.
void write_json_with_wide_integers(std::string& out, const nlohmann::json& value,
                                   const std::vector<WideInteger>& wide);

/// Replaces each stand-in still in `value` with the nearest double, as nlohmann reads the
/// literal: for uses that need the number's size, not its digits.
void replace_wide_integers_with_doubles(nlohmann::json& value,
                                        const std::vector<WideInteger>& wide);

}  // namespace promptetheus::devserver
