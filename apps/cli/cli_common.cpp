#include "cli_common.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <vector>

#include "analysis/pyrepr.hpp"
#include "policy/recording_policy.hpp"

namespace promptetheus::cli {

void write_out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void print_line(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 1);
  line.append(text);
  line.push_back('\n');
  write_out(line);
}

void print_error(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fputc('\n', stderr);
}

std::string not_found_message(const std::string& target) {
  return "Could not find a session or file for " + analysis::py_str_repr(target) + ".";
}

}  // namespace promptetheus::cli

namespace promptetheus::cli {

const Options& configured_options() {
  static const Options options = Options::from_env();
  return options;
}

const std::map<std::string, policy::Price>* configured_prices() {
  const auto& prices = configured_options().prices;
  return prices ? &*prices : nullptr;
}

void add_spool_dir_option(CLI::App& cmd, std::string& dir) {
  cmd.add_option("--dir", dir,
                 "Spool directory (default: PROMPTETHEUS_SPOOL_DIR, spool_dir in ~/.promptetheus/config.toml, "
                 "or .promptetheus/spool)");
  cmd.parse_complete_callback([&dir] {
    if (dir.empty()) dir = configured_options().spool_dir;
  });
}

void add_format_option(CLI::App& cmd, OutputFormat& format) {
  const std::map<std::string, OutputFormat> names{{"readable", OutputFormat::readable},
                                                  {"reference", OutputFormat::reference}};
  cmd.add_option("--format", format,
                 "Text output: readable (default), or reference for the reference CLI's exact output")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case));
}

void print_json(const nlohmann::ordered_json& j) {
  print_line(j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

void warn_about_read(const SessionReadNote& note, ReadWarning where) {
  if (note.unreadable) {
    print_error("warning: could not read " + note.source + ": " + note.error);
  } else if (note.malformed > 0) {
    const std::string message = "warning: skipped " + std::to_string(note.malformed) +
                                " malformed line(s) in " + note.source;
    if (where == ReadWarning::in_result) {
      // A skipped line may be the very event that explains the run (a failed goal check):
      // the result itself says it is incomplete.
      print_line(message + "; the result below does not include them.");
    } else {
      print_error(message);
    }
  }
}

bool sending_policy(const Options& options, std::shared_ptr<const detail::EventPolicy>& out) {
  std::vector<std::string> problems;
  const bool made = detail::make_event_policy(options, out, problems);
  for (const auto& problem : problems) print_error("warning: " + problem);
  if (!made) print_error("error: cannot prepare the redaction policy");
  return made;
}

}  // namespace promptetheus::cli
