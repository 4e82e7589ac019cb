// `promptetheus mcp install`: tells an MCP client (Codex, Claude Code, Cursor) how to start the
// Promptetheus MCP server. By default it writes the client's configuration for the local stdio
// server; with --workspace and --project-ref it prints the reference CLI's snippet for the
// hosted server instead (contract §6.4) and writes nothing.
#pragma once

#include <string>
#include <vector>

namespace promptetheus::cli {

enum class McpClient { codex, claude, cursor };

/// The exact output of the reference `mcp install` (contract §6.4) for arguments already
/// checked: `workspace` and `project_ref` as given (they are printed raw and encoded trimmed),
/// `server_name` trimmed.
std::string hosted_install_output(McpClient client, const std::string& workspace, const std::string& project_ref,
                                  const std::string& server_name, const std::string& hosted_url);

/// How the client starts the local server: the executable and its arguments.
struct LocalServerLaunch {
  std::string command;
  std::vector<std::string> args;
};

/// The configuration text `--print` shows: `{"mcpServers": {...}}` for the JSON clients, the
/// `[mcp_servers.<name>]` table for Codex.
std::string local_install_snippet(McpClient client, const std::string& server_name, const LocalServerLaunch& launch);

}  // namespace promptetheus::cli
