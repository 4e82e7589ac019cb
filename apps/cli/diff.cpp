// `promptetheus diff A B [--dir D] [--json] [--format readable|reference] [--api URL]`. rc 2 on a
// regression.
// The default compares what a person checks (analysis/compare.hpp); `--format reference` prints
// the reference CLI's step diff byte for byte, with its exit code (contract §6.13, §7.2).
#include <CLI/CLI.hpp>

#include "analysis/compare.hpp"
#include "analysis/diff.hpp"
#include "analysis/reports.hpp"
#include "cli_common.hpp"
#include "session_loading.hpp"

namespace promptetheus::cli {

namespace {
struct DiffOptions {
  std::string a, b;
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool json = false;
  OutputFormat format = OutputFormat::readable;
  ApiOptions api;
};
}  // namespace

void add_diff_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<DiffOptions>();
  auto* cmd = app.add_subcommand("diff", "Compare two sessions step by step");
  cmd->add_option("a", opts->a, "Baseline session id or file")->required();
  cmd->add_option("b", opts->b, "Candidate session id or file")->required();
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  add_format_option(*cmd, opts->format);
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    rc.value = 0;
    const ReadWarning where = opts->json ? ReadWarning::stderr_only : ReadWarning::in_result;
    const auto a = load_target_or_report(opts->a, opts->dir, where, opts->api, rc.value);
    if (!a) return;
    const auto b = load_target_or_report(opts->b, opts->dir, where, opts->api, rc.value);
    if (!b) return;
    if (opts->format == OutputFormat::readable) {
      const analysis::SessionComparison c = analysis::compare_sessions(a->events, b->events, configured_prices());
      rc.value = c.regressed() ? 2 : 0;
      if (opts->json) {
        nlohmann::ordered_json doc = analysis::comparison_json(c);
        doc["sources"] = {a->source, b->source};
        print_json(doc);
      } else {
        write_out(analysis::render_comparison(c));
      }
      return;
    }
    const analysis::SessionDiff d = analysis::diff_sessions(a->events, b->events);
    rc.value = d.regressed ? 2 : 0;
    if (opts->json) {
      print_json(analysis::diff_json(d, *a, *b));
      return;
    }
    if (d.empty()) {
      print_line("No differences: the two sessions match.");
      return;
    }
    write_out(d.summary() + "\n\n" + (d.regressed ? "REGRESSED" : "changed, no regression") + "\n");
  });
}

}  // namespace promptetheus::cli
