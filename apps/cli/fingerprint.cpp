// `promptetheus fingerprint TARGET [--dir D] [--json] [--api URL]` (contract §6.14, §7.1).
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
  ApiOptions api;
};

void print_fingerprint(const analysis::Fingerprint& fp) {
  if (!fp.is_failure) {
    print_line("No failure detected in this session.");
    return;
  }
  std::string out = fp.fingerprint + "  " + fp.label + "\n";
  for (const auto& s : fp.signals) out += "  - " + s + "\n";
  write_out(out);
}
}  // namespace

void add_fingerprint_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<FingerprintOptions>();
  auto* cmd = app.add_subcommand("fingerprint", "Print the failure fingerprint of a session");
  cmd->add_option("target", opts->target, "Session id or file path")->required();
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    rc.value = 0;
    if (opts->json || !opts->api.url.empty()) {
      const auto session = load_target_or_report(
          opts->target, opts->dir, opts->json ? ReadWarning::stderr_only : ReadWarning::in_result, opts->api,
          rc.value);
      if (!session) return;
      const analysis::Fingerprint fp = analysis::fingerprint_v1(session->events);
      if (opts->json) {
        print_json(analysis::fingerprint_json(fp, *session));
      } else {
        print_fingerprint(fp);
      }
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
      // Not in the spool under that name: a unique id prefix, or the configured server.
      const auto session =
          load_target_or_report(opts->target, opts->dir, ReadWarning::in_result, opts->api, rc.value);
      if (session) print_fingerprint(analysis::fingerprint_v1(session->events));
      return;
    }
    warn_about_read({source, stats.blank, stats.malformed, stats.unreadable, stats.error}, ReadWarning::in_result);
    print_fingerprint(builder.finish());
  });
}

}  // namespace promptetheus::cli
