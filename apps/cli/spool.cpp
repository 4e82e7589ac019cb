// `promptetheus spool {list,replay,purge}`: the parent command.
#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace promptetheus::cli {

void add_spool_command(CLI::App& app, ExitCode& rc) {
  auto* spool = app.add_subcommand("spool", "Inspect, replay or purge the local spool");
  spool->require_subcommand(1);
  add_spool_list_command(*spool, rc);
  add_spool_replay_command(*spool, rc);
  add_spool_purge_command(*spool, rc);
}

}  // namespace promptetheus::cli
