#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace promptetheus::cli {

void add_init_command(CLI::App& app, ExitCode& rc) {
  auto* cmd = app.add_subcommand("init", "not implemented yet");
  cmd->allow_extras();
  cmd->callback([&rc] {
    print_error("not implemented yet");
    rc.value = 1;
  });
}

}  // namespace promptetheus::cli
