// The `mcp` command with only its `install` subcommand, until the command that also runs the
// stdio server (no subcommand, contract §6.3) takes its place.
#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace promptetheus::cli {

void add_mcp_command(CLI::App& app, ExitCode& rc) {
  auto* mcp = app.add_subcommand("mcp", "Model Context Protocol: configure MCP clients");
  mcp->require_subcommand(1);
  add_mcp_install_command(*mcp, rc);
}

}  // namespace promptetheus::cli
