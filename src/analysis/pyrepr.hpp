// Python formatting of JSON values as the reference CLI prints them (contract §7.9): repr(),
// str(), truthiness, float repr, and json.dumps(indent=2, ensure_ascii=True) for export.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/json_view.hpp"

namespace promptetheus::analysis {

/// repr() of a float: shortest round trip, ".0" for integral values, exponent outside [-4, 16).
std::string py_float_repr(double v);
/// repr() of a str given as UTF-8.
std::string py_str_repr(std::string_view utf8);
/// repr() of the Python value json.loads produces for `v`.
void append_pyrepr(std::string& out, const JsonView& v);
std::string pyrepr(const JsonView& v);
/// str(): strings as themselves, everything else as repr().
std::string pystr(const JsonView& v);
/// bool(): null/false/0/0.0/""/[]/{} are false.
bool py_truthy(const JsonView& v);

/// The members of an object as a Python dict holds them: each key once, at its first position,
/// with its last value.
std::vector<std::pair<JsonView, JsonView>> dict_members(const JsonView& object);

/// json.dumps(v, indent=2, ensure_ascii=True) of the Python value of `v`, appended to `out`
/// with the given starting indentation level.
void append_json_dump(std::string& out, const JsonView& v, int level = 0);
/// A JSON string literal with ensure_ascii escaping.
void append_json_string(std::string& out, std::string_view utf8);

}  // namespace promptetheus::analysis
