#include "dev/dev_command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

namespace promptetheus::devserver {

void add_dev_command(CLI::App& app) {
  auto* dev = app.add_subcommand("dev", "Run the local ingestion server");
  dev->callback([] { std::cerr << "promptetheus dev: not built yet\n"; });
}

}  // namespace promptetheus::devserver
