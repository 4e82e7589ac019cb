// `promptetheus spool purge [--dir D] [--dead-letter]` (contract §6.9).
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "analysis/session_store.hpp"
#include "cli_common.hpp"
#include "transport/spool.hpp"

namespace promptetheus::cli {

namespace {
struct PurgeOptions {
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool dead_letter = false;
};
}  // namespace

void add_spool_purge_command(CLI::App& spool, ExitCode& rc) {
  auto opts = std::make_shared<PurgeOptions>();
  auto* cmd = spool.add_subcommand("purge", "Delete pending spool files");
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--dead-letter", opts->dead_letter, "Also delete dead-lettered events");
  cmd->callback([opts, &rc] {
    using namespace analysis;
    rc.value = 0;
    const std::string shown = display_path(opts->dir);
    std::vector<SpoolFile> files;
    if (list_spool_pending(opts->dir, files) == DirState::missing) {
      print_line("No spool directory at " + shown + " \u2014 nothing to purge.");
      return;
    }
    std::size_t removed = 0;
    auto remove_all = [&](const std::vector<SpoolFile>& list, const std::string& prefix) {
      for (const auto& f : list) {
        if (std::remove(f.path.c_str()) == 0) {
          ++removed;
        } else {
          const std::string folder = f.in_outbox ? std::string(detail::kOutboxDirName) + "/" : prefix;
          print_line("  could not remove " + folder + f.name + ": " + std::strerror(errno));
        }
      }
    };
    remove_all(files, "");
    if (opts->dead_letter) {
      std::vector<SpoolFile> dead;
      list_jsonl(join_path(opts->dir, detail::kDeadLetterDirName), dead);
      remove_all(dead, std::string(detail::kDeadLetterDirName) + "/");
      print_line("Purged " + std::to_string(removed) + " spool + dead-letter file(s) from " + shown + ".");
    } else {
      print_line("Purged " + std::to_string(removed) + " pending spool file(s) from " + shown + ".");
    }
  });
}

}  // namespace promptetheus::cli
