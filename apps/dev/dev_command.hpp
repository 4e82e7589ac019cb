// The `promptetheus dev` subcommand: the embedded local ingestion server.
#pragma once

namespace CLI { class App; }

namespace promptetheus::devserver {

/// Registers the `dev` subcommand (and its options) on the CLI app.
void add_dev_command(CLI::App& app);

}  // namespace promptetheus::devserver
