// `promptetheus spool list [--dir D]` (contract §6.7).
#include <CLI/CLI.hpp>

#include "analysis/session_store.hpp"
#include "cli_common.hpp"
#include "transport/spool.hpp"

namespace promptetheus::cli {

void add_spool_list_command(CLI::App& spool, ExitCode& rc) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = spool.add_subcommand("list", "Show pending and dead-lettered spool files");
  add_spool_dir_option(*cmd, *dir);
  cmd->callback([dir, &rc] {
    using namespace analysis;
    rc.value = 0;
    const std::string shown = display_path(*dir);
    std::vector<SpoolFile> pending;
    const DirState state = list_spool_pending(*dir, pending);
    if (state == DirState::missing) {
      print_line("No spool directory at " + shown + " \u2014 nothing pending.");
      return;
    }
    std::vector<SpoolFile> dead;
    list_jsonl(join_path(*dir, detail::kDeadLetterDirName), dead);
    std::uint64_t pending_events = 0, pending_bytes = 0, dead_events = 0, dead_bytes = 0;
    std::vector<std::uint64_t> per_file;
    for (const auto& f : pending) {
      const auto n = count_lines(f.path).non_blank;
      per_file.push_back(n);
      pending_events += n;
      pending_bytes += f.bytes;
    }
    for (const auto& f : dead) {
      dead_events += count_lines(f.path).non_blank;
      dead_bytes += f.bytes;
    }
    std::string out = "Spool: " + shown + "\n";
    out += "  pending : " + std::to_string(pending_events) + " event(s) across " +
           std::to_string(pending.size()) + " session file(s), " + std::to_string(pending_bytes) + " bytes\n";
    out += "  dead    : " + std::to_string(dead_events) + " event(s) across " + std::to_string(dead.size()) +
           " file(s), " + std::to_string(dead_bytes) + " bytes\n";
    for (std::size_t i = 0; i < pending.size(); ++i) {
      const std::string folder = pending[i].in_outbox ? std::string(detail::kOutboxDirName) + "/" : "";
      out += "    " + folder + pending[i].name + ": " + std::to_string(per_file[i]) + " pending\n";
    }
    write_out(out);
  });
}

}  // namespace promptetheus::cli
