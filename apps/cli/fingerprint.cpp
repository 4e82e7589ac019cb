// `promptetheus fingerprint TARGET [--dir D] [--json]` (contract §6.14, §7.1).
#include <CLI/CLI.hpp>

#include "analysis/fingerprint.hpp"
#include "analysis/reports.hpp"
#include "cli_common.hpp"
#include "session_loading.hpp"

namespace promptetheus::cli {

namespace {
struct FingerprintOptions {
  std::string target;
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool json = false;
};
}  // namespace

void add_fingerprint_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<FingerprintOptions>();
  auto* cmd = app.add_subcommand("fingerprint", "Print the failure fingerprint of a session");
  cmd->add_option("target", opts->target, "Session id or file path")->required();
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  cmd->callback([opts, &rc] {
    if (opts->json) {
      const auto session = load_target_or_report(opts->target, opts->dir, ReadWarning::stderr_only);
      if (!session) {
        rc.value = 1;
        return;
      }
      rc.value = 0;
      print_json(analysis::fingerprint_json(analysis::fingerprint_v1(session->events), *session));
      return;
    }
    // Streamed: a large session is fingerprinted without holding it in memory.
    analysis::FingerprintBuilder builder;
    analysis::ReadStats stats;
    std::string source;
    const bool found = analysis::stream_target(
        opts->target, opts->dir,
        [](void* b, const analysis::Event& e) { static_cast<analysis::FingerprintBuilder*>(b)->add(e); }, &builder,
        stats, source);
    if (!found) {
      print_line(not_found_message(opts->target));
      rc.value = 1;
      return;
    }
    warn_about_read({source, stats.blank, stats.malformed, stats.unreadable, stats.error}, ReadWarning::in_result);
    rc.value = 0;
    const analysis::Fingerprint fp = builder.finish();
    if (!fp.is_failure) {
      print_line("No failure detected in this session.");
      return;
    }
    std::string out = fp.fingerprint + "  " + fp.label + "\n";
    for (const auto& s : fp.signals) out += "  - " + s + "\n";
    write_out(out);
  });
}

}  // namespace promptetheus::cli
