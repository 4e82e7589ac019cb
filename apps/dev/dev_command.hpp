// The `promptetheus dev` subcommand: the embedded local ingestion server.
#pragma once

namespace CLI { class App; }

namespace promptetheus::devserver {

/// Registers the `dev` subcommand (and its options) on the CLI app. When it runs, `exit_code` is
/// set to the command's exit code: 0 after a clean stop, 1 when the server cannot start (its
/// reason printed on stderr).
void add_dev_command(CLI::App& app, int& exit_code);

}  // namespace promptetheus::devserver
