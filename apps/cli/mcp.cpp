// `promptetheus mcp [--dir D] [--api URL] [--console-token T]`: a local MCP server on stdin and
// stdout for coding agents debugging a failed agent run from local evidence (the spool, exported
// session files, or a server's read routes with --api). Stdout carries the protocol only; notes
// go to stderr. Exits 0 when the client closes stdin.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <memory>

#include "cli_common.hpp"
#include "mcp_local_tools.hpp"
#include "mcp_server.hpp"
#include "promptetheus/client.hpp"

namespace promptetheus::cli {

namespace {

constexpr const char* kInstructions =
    "Promptetheus: debug recorded AI agent runs. Start with get_failure_context (no arguments: the newest failed "
    "run) or list_sessions; read a run with get_session and get_events; compare a passing and a failing run with "
    "diff_sessions; find text with search_events; see recurring failures with list_failures. Results are bounded: "
    "long strings end with a truncation marker and lists are paged (next_cursor / next_offset).";

}  // namespace

void add_mcp_command(CLI::App& app, ExitCode& rc) {
  auto config = std::make_shared<mcp::LocalToolsConfig>();
  auto* cmd = app.add_subcommand("mcp", "Run a local MCP server on stdio for coding agents (Claude Code, Codex, Cursor)");
  add_spool_dir_option(*cmd, config->dir);
  add_api_options(*cmd, config->api);
  cmd->callback([config, &rc] {
    mcp::ServerIdentity identity;
    identity.version = promptetheus::version();
    identity.instructions = kInstructions;
    mcp::Server server(mcp::local_tools(*config), identity);
    rc.value = mcp::serve(server, STDIN_FILENO, STDOUT_FILENO);
  });
}

}  // namespace promptetheus::cli
