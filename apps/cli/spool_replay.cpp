#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace promptetheus::cli {

void add_spool_replay_command(CLI::App& spool, ExitCode& rc) {
  auto* cmd = spool.add_subcommand("replay", "not implemented yet");
  cmd->allow_extras();
  cmd->callback([&rc] {
    print_error("not implemented yet");
    rc.value = 1;
  });
}

}  // namespace promptetheus::cli
