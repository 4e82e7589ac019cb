// The `promptetheus` command-line tool. Default output is byte-identical to the reference CLI
// (contract §6); usage errors exit 64 (kUsageErrorExit), apart from every result code.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <iostream>

#include "cli_common.hpp"
#include "dev/dev_command.hpp"

namespace {

// A usage error names the command it happened in, lists that command's subcommands when it has
// any (an unknown or missing command), and points at the right --help.
void report_usage_error(CLI::App& app, const CLI::ParseError& error) {
  CLI::App* where = &app;
  std::string path = "promptetheus";
  for (;;) {
    const auto entered = where->get_subcommands([](CLI::App* sub) { return sub->count() > 0; });
    if (entered.empty()) break;
    where = entered.back();
    path += " " + where->get_name();
  }
  std::string message = "promptetheus: error: " + std::string(error.what()) + "\n";
  const auto subcommands = where->get_subcommands([](CLI::App*) { return true; });
  if (!subcommands.empty()) {
    message += "Valid commands:";
    for (const CLI::App* sub : subcommands) message += " " + sub->get_name();
    message += "\n";
  }
  message += "Run '" + path + " --help' for usage.\n";
  std::fputs(message.c_str(), stderr);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace promptetheus::cli;
  CLI::App app{"Promptetheus: local tools for spooled agent sessions", "promptetheus"};
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  ExitCode rc;
  add_version_command(app, rc);
  add_sessions_command(app, rc);
  add_spool_command(app, rc);
  add_export_command(app, rc);
  add_import_command(app, rc);
  add_replay_command(app, rc);
  add_report_command(app, rc);
  add_diff_command(app, rc);
  add_fingerprint_command(app, rc);
  add_failures_command(app, rc);
  add_doctor_command(app, rc);
  add_init_command(app, rc);
  add_redact_command(app, rc);
  add_mcp_command(app, rc);
  promptetheus::devserver::add_dev_command(app, rc.value);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Subcommand help requests arrive as CallForHelp from the subcommand's parse.
    if (e.get_exit_code() == 0) {
      return app.exit(e);
    }
    report_usage_error(app, e);
    return kUsageErrorExit;
  } catch (const std::exception& e) {
    std::cerr << "promptetheus: " << e.what() << "\n";
    return 1;
  }
  if (app.get_subcommands().empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  std::fflush(stdout);
  return rc.value;
}
