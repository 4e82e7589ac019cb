// Shared plumbing of the `promptetheus` subcommands: output, default paths, registration.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/event_policy.hpp"
#include "promptetheus/options.hpp"

namespace CLI { class App; }

namespace promptetheus::cli {

/// The recording policy of `options` for what a command sends to the API (spool replay, import):
/// lines recorded without redaction are redacted on their way when the configuration asks for
/// it. Prints the configuration's problems as warnings; returns false, after printing an error,
/// when the policy cannot be prepared (nothing must then be sent).
bool sending_policy(const Options& options, std::shared_ptr<const detail::EventPolicy>& out);

/// The configuration the SDK would use here (Options::from_env()), read once per run so that
/// its warnings are printed once.
const Options& configured_options();
/// The configured price table (PROMPTETHEUS_PRICES, config.toml `prices`), or nullptr for the
/// default one: what the readable outputs estimate costs with.
const std::map<std::string, policy::Price>* configured_prices();

/// Registers `--dir` on a command that reads the spool. When it is not given, `dir` becomes
/// the spool directory the SDK would use: PROMPTETHEUS_SPOOL_DIR, else `spool_dir` of
/// ~/.promptetheus/config.toml, else `.promptetheus/spool` (the reference CLI's default).
void add_spool_dir_option(CLI::App& cmd, std::string& dir);
/// The text output of a command that explains more than the reference CLI does: `readable` (the
/// default) or `reference`, the reference CLI's bytes (contract §6), which the conformance
/// tests compare.
enum class OutputFormat { readable, reference };
/// Registers `--format readable|reference` on such a command.
void add_format_option(CLI::App& cmd, OutputFormat& format);

/// The reference CLI version whose output this CLI reproduces (contract §6.1): what
/// `promptetheus version --reference` prints, next to the SDK's own version by default.
inline constexpr const char* kReferenceVersion = "2.0.1";

/// Writes to stdout in one call (large outputs stay fast) and flushes.
void write_out(std::string_view text);
/// Writes a line (text + '\n') to stdout.
void print_line(std::string_view text);
/// Writes a line to stderr.
void print_error(std::string_view text);

/// The exit code of a usage error (unknown command or option, missing argument): EX_USAGE of
/// sysexits, distinct from every result code (`diff` exits 2 on a regression, as the reference
/// CLI does, so a usage error cannot be 2 as it is with argparse).
inline constexpr int kUsageErrorExit = 64;

/// The exit code chosen by the subcommand that ran.
struct ExitCode {
  int value = 0;
};

void add_version_command(CLI::App& app, ExitCode& rc);
void add_sessions_command(CLI::App& app, ExitCode& rc);
void add_spool_command(CLI::App& app, ExitCode& rc);  // list, replay, purge
void add_spool_list_command(CLI::App& spool, ExitCode& rc);
void add_spool_replay_command(CLI::App& spool, ExitCode& rc);
void add_spool_purge_command(CLI::App& spool, ExitCode& rc);
void add_export_command(CLI::App& app, ExitCode& rc);
void add_import_command(CLI::App& app, ExitCode& rc);
void add_replay_command(CLI::App& app, ExitCode& rc);
void add_report_command(CLI::App& app, ExitCode& rc);
void add_diff_command(CLI::App& app, ExitCode& rc);
void add_fingerprint_command(CLI::App& app, ExitCode& rc);
void add_failures_command(CLI::App& app, ExitCode& rc);
void add_doctor_command(CLI::App& app, ExitCode& rc);
void add_init_command(CLI::App& app, ExitCode& rc);
void add_redact_command(CLI::App& app, ExitCode& rc);
void add_mcp_command(CLI::App& app, ExitCode& rc);  // the stdio MCP server and `mcp install` (mcp.cpp)
void add_mcp_install_command(CLI::App& mcp, ExitCode& rc);

/// "Could not find a session or file for '<target>'." (target in Python repr quotes).
std::string not_found_message(const std::string& target);

}  // namespace promptetheus::cli

#include <nlohmann/json.hpp>

namespace promptetheus::cli {
/// Prints a --json document (2-space indent; invalid UTF-8 replaced, never thrown on).
void print_json(const nlohmann::ordered_json& j);
/// What reading `source` skipped.
struct SessionReadNote {
  std::string source;
  std::uint64_t blank = 0, malformed = 0;
  bool unreadable = false;
  std::string error;
};
/// Where a read warning goes: stderr only (machine-readable output, which reports the counts
/// itself), or also into a text result on stdout, which is then incomplete and must say so.
enum class ReadWarning { stderr_only, in_result };
/// Warns about a file that could not be read, or lines of it that were skipped.
void warn_about_read(const SessionReadNote& note, ReadWarning where = ReadWarning::stderr_only);
}  // namespace promptetheus::cli
