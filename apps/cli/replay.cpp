// `promptetheus replay TARGET [--dir D] [--tree] [--json] [--format readable|reference] [--api URL]`.
// The default output explains the run (analysis/timeline.hpp); `--format reference` prints the
// reference CLI's lines byte for byte (contract §6.12, §7.3).
#include <CLI/CLI.hpp>

#include "analysis/replay.hpp"
#include "analysis/reports.hpp"
#include "analysis/timeline.hpp"
#include "analysis/trace_tree.hpp"
#include "cli_common.hpp"
#include "session_loading.hpp"

namespace promptetheus::cli {

namespace {
struct ReplayOptions {
  std::string target;
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool tree = false;
  bool json = false;
  OutputFormat format = OutputFormat::readable;
  ApiOptions api;
};
}  // namespace

void add_replay_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<ReplayOptions>();
  auto* cmd = app.add_subcommand("replay", "Print a session's events as a timeline or run tree");
  cmd->add_option("target", opts->target, "Session id or file path")->required();
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--tree", opts->tree, "Show the span tree");
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  add_format_option(*cmd, opts->format);
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    rc.value = 0;
    const auto session = load_target_or_report(
        opts->target, opts->dir, opts->json ? ReadWarning::stderr_only : ReadWarning::in_result, opts->api, rc.value);
    if (!session) return;
    if (opts->format == OutputFormat::readable) {
      const analysis::Timeline timeline = analysis::build_timeline(session->events, configured_prices());
      if (opts->json) {
        nlohmann::ordered_json doc = analysis::read_stats_json(*session);
        doc["timeline"] = analysis::timeline_json(timeline);
        if (opts->tree) doc["tree"] = analysis::replay_tree_json(*session)["roots"];
        print_json(doc);
      } else {
        write_out(opts->tree ? analysis::render_timeline_tree(session->events, timeline)
                             : analysis::render_timeline(timeline));
      }
      return;
    }
    if (opts->json) {
      print_json(opts->tree ? analysis::replay_tree_json(*session) : analysis::replay_flat_json(*session));
      return;
    }
    if (!opts->tree) {
      write_out(analysis::render_flat(session->events));
      return;
    }
    bool any_object = false;
    for (const auto& e : session->events) any_object = any_object || e.is_object();
    if (!any_object) {
      print_line("(no events)");
      return;
    }
    std::string out = analysis::render_tree(analysis::build_trace_forest(session->events));
    out.push_back('\n');
    write_out(out);
  });
}

}  // namespace promptetheus::cli
