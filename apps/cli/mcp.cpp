// `promptetheus mcp [--dir D] [--api URL] [--console-token T]`: a local MCP server on stdin and
// stdout for coding agents debugging a failed agent run from local evidence (the spool, exported
// session files, or a server's read routes with --api). With --hosted, the reference's proxy
// tools for the hosted API instead (contract §8.1). `mcp install` writes a client's
// configuration (mcp_install.hpp). Stdout carries the protocol only; notes go to stderr. Exits
// 0 when the client closes stdin, 1 when --hosted lacks its configuration.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <memory>

#include "cli_common.hpp"
#include "mcp_hosted_tools.hpp"
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

constexpr const char* kHostedInstructions =
    "Promptetheus (hosted): evidence about incidents and agent runs from the Promptetheus API. Start with "
    "get_failure_context or get_fix_brief for an incident or session id.";

}  // namespace

void add_mcp_command(CLI::App& app, ExitCode& rc) {
  auto config = std::make_shared<mcp::LocalToolsConfig>();
  auto hosted = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("mcp", "Run a local MCP server on stdio for coding agents (Claude Code, Codex, Cursor)");
  add_spool_dir_option(*cmd, config->dir);
  add_api_options(*cmd, config->api);
  cmd->add_flag("--hosted", *hosted,
                "Serve the reference's hosted proxy tools instead, forwarding to <api_url>/mcp/... with the API key");
  add_mcp_install_command(*cmd, rc);
  cmd->callback([cmd, config, hosted, &rc] {
    if (cmd->got_subcommand("install")) return;  // `mcp install` ran instead
    mcp::ServerIdentity identity;
    identity.version = promptetheus::version();
    mcp::ToolSet tools;
    if (*hosted) {
      const Options& options = configured_options();
      if (const auto error = mcp::hosted_config_error(options)) {
        print_error(*error);  // not on stdout: that is the protocol's
        rc.value = 1;
        return;
      }
      tools = mcp::hosted_tools(options.api_url, options.api_key);
      identity.instructions = kHostedInstructions;
    } else {
      tools = mcp::local_tools(*config);
      identity.instructions = kInstructions;
    }
    mcp::Server server(std::move(tools), identity);
    rc.value = mcp::serve(server, STDIN_FILENO, STDOUT_FILENO);
  });
}

}  // namespace promptetheus::cli
