// `promptetheus spool purge [--dir D] [--dead-letter]` (contract §6.9). With --dead-letter it
// also deletes the folders this SDK keeps in the dead letter (refused artifacts and OTLP
// requests, which the reference does not have), counted among the files purged.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "analysis/session_store.hpp"
#include "cli_common.hpp"
#include "transport/spool.hpp"

namespace promptetheus::cli {

namespace {
struct PurgeOptions {
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool dead_letter = false;
};

// Deletes the folders in the dead letter (the artifacts and OTLP requests a server refused, kept
// beside their reasons) with everything in them; returns the number of files deleted. A file
// that cannot be deleted is reported, and its folder kept.
std::size_t remove_dead_letter_folders(const std::string& dead_dir) {
  namespace fs = std::filesystem;
  std::size_t removed = 0;
  std::error_code ec;
  std::vector<fs::path> folders;
  for (fs::directory_iterator it(dead_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) folders.push_back(it->path());
  }
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_directory(ec) || it->is_symlink(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    bool all_removed = !ec;
    for (const fs::path& file : files) {
      if (std::remove(file.c_str()) == 0) {
        ++removed;
      } else {
        all_removed = false;
        print_line("  could not remove " + std::string(detail::kDeadLetterDirName) + "/" +
                   file.lexically_relative(dead_dir).string() + ": " + std::strerror(errno));
      }
    }
    if (all_removed) fs::remove_all(folder, ec);  // only empty folders are left in it
  }
  return removed;
}
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
      const std::string dead_dir = join_path(opts->dir, detail::kDeadLetterDirName);
      std::vector<SpoolFile> dead;
      list_jsonl(dead_dir, dead);
      remove_all(dead, std::string(detail::kDeadLetterDirName) + "/");
      removed += remove_dead_letter_folders(dead_dir);
      print_line("Purged " + std::to_string(removed) + " spool + dead-letter file(s) from " + shown + ".");
    } else {
      print_line("Purged " + std::to_string(removed) + " pending spool file(s) from " + shown + ".");
    }
  });
}

}  // namespace promptetheus::cli
