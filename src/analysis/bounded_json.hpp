// JSON values cut down to a size a reader (a person, or a model with a limited context) can take:
// long strings end with a visible "…[truncated N chars]" marker, long arrays and objects with a
// "…[N more items]" marker, and nesting below a depth is replaced by a marker. Used by the
// failure context and the MCP tools. Nothing here throws but std::bad_alloc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "analysis/json_view.hpp"

namespace promptetheus::analysis {

struct JsonBounds {
  std::size_t max_string_chars = 2000;  // code points kept of a string
  std::size_t max_items = 50;           // elements kept of an array, members of an object
  std::size_t max_depth = 8;            // containers nested deeper become a marker
};

/// `text` cut to `max_chars` code points, followed by "…[truncated N chars]" (N = the code
/// points cut) when it was longer.
std::string truncate_text(std::string_view text, std::size_t max_chars);

/// `value` within `bounds` (a dropped array tail becomes one marker string element; a dropped
/// object tail becomes the member "…" with the marker).
nlohmann::json bounded(const nlohmann::json& value, const JsonBounds& bounds);

/// A spooled value as JSON: parsed from its text, or, when nlohmann cannot represent it (NaN,
/// Infinity, a lone surrogate), its source text as a string. Absent → null.
nlohmann::json view_to_json(const JsonView& view);

}  // namespace promptetheus::analysis
