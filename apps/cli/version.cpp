// `promptetheus version` (contract §6.1).
#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace promptetheus::cli {

void add_version_command(CLI::App& app, ExitCode& rc) {
  auto* cmd = app.add_subcommand("version", "Print the version");
  cmd->callback([&rc] {
    print_line(kReferenceVersion);
    rc.value = 0;
  });
}

}  // namespace promptetheus::cli
