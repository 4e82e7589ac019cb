// JSON text that may sit inside an HTML <script> element (the report's data block, and any page
// that embeds a session): nothing in it can end the element or be read as markup.
#pragma once

#include <string>
#include <string_view>

namespace promptetheus::analysis {

/// Appends valid JSON text `json_text` with `<`, `>` and `&` (which only occur inside its
/// strings) and the raw bytes of U+2028 and U+2029 written as \u escapes: the same JSON value,
/// which no `</script>` or `<!--` inside a string can break out of.
void append_script_safe_json(std::string& out, std::string_view json_text);

}  // namespace promptetheus::analysis
