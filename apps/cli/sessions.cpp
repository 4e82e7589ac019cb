// `promptetheus sessions [--dir D] [--json]` (contract §6.10).
#include <CLI/CLI.hpp>

#include "analysis/session_store.hpp"
#include "cli_common.hpp"

namespace promptetheus::cli {

namespace {
struct SessionsOptions {
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool json = false;
};
}  // namespace

void add_sessions_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<SessionsOptions>();
  auto* cmd = app.add_subcommand("sessions", "List spooled sessions");
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  cmd->callback([opts, &rc] {
    using namespace analysis;
    rc.value = 0;
    const std::string shown = display_path(opts->dir);
    std::vector<SpoolFile> files;
    std::string error;
    const DirState state = list_spool_pending(opts->dir, files, &error);
    if (state == DirState::unreadable) print_error("warning: could not list " + shown + ": " + error);
    if (opts->json) {
      nlohmann::ordered_json j;
      j["dir"] = shown;
      j["exists"] = state != DirState::missing;
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& f : files) {
        const Session s = read_jsonl_file(f.path);
        list.push_back({{"session_id", f.stem}, {"file", f.name}, {"events", s.events.size()},
                        {"bytes", f.bytes}, {"blank_lines", s.stats.blank},
                        {"malformed_lines", s.stats.malformed}, {"unreadable", s.stats.unreadable}});
        if (f.in_outbox) list.back()["outbox"] = true;  // only then: the reference's keys otherwise
      }
      j["sessions"] = std::move(list);
      print_json(j);
      return;
    }
    if (state == DirState::missing) {
      print_line("No spool directory at " + shown + " \u2014 no sessions.");
      return;
    }
    if (files.empty()) {
      print_line("No sessions found in " + shown + ".");
      return;
    }
    std::string out;
    for (const auto& f : files) {
      const LineCounts counts = count_lines(f.path);
      if (counts.unreadable) print_error("warning: could not read " + f.path);
      out += "  " + f.stem + ": " + std::to_string(counts.parsed) + " event(s)" +
             (f.in_outbox ? " (outbox: not yet delivered)" : "") + "\n";
    }
    write_out(out);
  });
}

}  // namespace promptetheus::cli
