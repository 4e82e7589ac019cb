// Setting one table of a TOML file the user also edits by hand (Codex's config.toml), keeping
// every other byte: comments, key order and formatting of the rest stay as they were.
#pragma once

#include <string>
#include <vector>

namespace promptetheus::cli {

/// What set_toml_table() did.
enum class TomlTableChange { added, updated, unchanged, failed };

struct TomlTableEdit {
  TomlTableChange change = TomlTableChange::failed;
  std::string text;   // the whole new file text (when not failed)
  std::string error;  // why the file cannot be edited (when failed)
};

/// Sets the table named by `keys` (e.g. {"mcp_servers", "promptetheus"}) to hold exactly
/// `body_lines` (complete `key = value` lines, each ending in '\n'). An existing
/// `[mcp_servers.promptetheus]` or `[mcp_servers."promptetheus"]` table keeps its header line;
/// its lines up to the next table header are replaced (blank and comment lines just before
/// that header stay). Otherwise the table is appended after a blank line. A file that is not
/// well-formed TOML at the line level, or that defines the table in another form (dotted keys,
/// an inline table), fails with a message naming the line, and the caller must leave it alone.
TomlTableEdit set_toml_table(const std::string& text, const std::vector<std::string>& keys,
                             const std::string& body_lines);

/// A TOML basic string ("..." with \\, \", control characters escaped).
std::string toml_basic_string(const std::string& value);
/// A TOML key: bare when it only has A-Za-z0-9_-, else a basic string.
std::string toml_key(const std::string& key);

}  // namespace promptetheus::cli
