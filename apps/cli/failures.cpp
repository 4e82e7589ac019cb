// `promptetheus failures [--dir D] [--json] [--sessions N] [--api URL]`: the failed sessions of the
// spool, or of a server (GET /api/failures), grouped by failure fingerprint, most frequent first
// (analysis/failures.hpp).
#include <CLI/CLI.hpp>

#include "analysis/failures.hpp"
#include "analysis/readable_text.hpp"
#include "api_access.hpp"
#include "cli_common.hpp"
#include "spool_summaries.hpp"

namespace promptetheus::cli {

namespace {
struct FailuresOptions {
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool json = false;
  std::size_t sessions_shown = 5;
  ApiOptions api;
};

std::string render_groups(const std::vector<analysis::FailureGroup>& groups, std::size_t shown) {
  using analysis::one_line;
  std::string out;
  for (const analysis::FailureGroup& g : groups) {
    out += "\n" + std::to_string(g.count) + "x  " + one_line(g.label) + "\n";
    out += "    fingerprint " + g.fingerprint;
    if (g.first_seen) out += " · first seen " + *g.first_seen;
    if (g.last_seen) out += " · last seen " + *g.last_seen;
    out += "\n";
    if (!g.agents.empty()) {
      std::string agents;
      for (const std::string& a : g.agents) agents += (agents.empty() ? "" : ", ") + one_line(a);
      out += "    agents: " + agents + "\n";
    }
    std::string ids;
    for (std::size_t i = 0; i < g.sessions.size() && i < shown; ++i) {
      ids += (i ? ", " : "") + one_line(g.sessions[i]);
    }
    if (g.sessions.size() > shown) ids += ", … (" + std::to_string(g.sessions.size() - shown) + " more)";
    out += "    sessions: " + ids + "\n";
  }
  return out;
}
std::optional<std::string> optional_string(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

// A group as GET /api/failures gives it (failure_group_json).
analysis::FailureGroup group_of(const nlohmann::json& j) {
  analysis::FailureGroup g;
  g.fingerprint = optional_string(j, "fingerprint").value_or("?");
  g.label = optional_string(j, "label").value_or("?");
  g.signals = strings(j, "signals");
  const auto count = j.find("count");
  g.count = count != j.end() && count->is_number_unsigned() ? count->get<std::size_t>() : 0;
  g.first_seen = optional_string(j, "first_seen");
  g.last_seen = optional_string(j, "last_seen");
  g.agents = strings(j, "agents");
  g.sessions = strings(j, "sessions");
  return g;
}

void list_remote(const FailuresOptions& opts, int& rc) {
  const ApiAccess access = api_access(opts.api);
  nlohmann::json list;
  std::string error;
  if (!fetch_list(access, "/api/failures", "failures", list, error)) {
    print_error("promptetheus: could not read failures at " + access.url + ": " + error);
    rc = kApiErrorExit;
    return;
  }
  if (opts.json) {
    print_line(nlohmann::json{{"api", access.url}, {"failures", std::move(list)}}.dump(
        2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::vector<analysis::FailureGroup> groups;
  std::size_t failed = 0;
  for (const nlohmann::json& g : list) {
    if (!g.is_object()) continue;
    groups.push_back(group_of(g));
    failed += groups.back().count;
  }
  using analysis::plural;
  std::string out = plural(groups.size(), "failure", "failures") + " in " +
                    plural(failed, "failed session", "failed sessions") + " at " + access.url + "\n";
  write_out(out + render_groups(groups, opts.sessions_shown));
}

}  // namespace

void add_failures_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<FailuresOptions>();
  auto* cmd = app.add_subcommand("failures", "Group failed sessions by failure fingerprint");
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  cmd->add_option("--sessions", opts->sessions_shown, "Session ids shown per failure (default 5)")
      ->check(CLI::Range(1, 1000000));
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    using namespace analysis;
    rc.value = 0;
    if (!opts->api.url.empty()) return list_remote(*opts, rc.value);
    const std::string shown = display_path(opts->dir);
    DirState state;
    std::string error;
    const std::vector<SpoolSessionSummary> summaries = summarise_spool(opts->dir, state, error);
    if (state == DirState::unreadable || state == DirState::not_a_directory) {
      print_error("promptetheus failures: could not list " + shown + (error.empty() ? "" : ": " + error));
      rc.value = 1;
      return;
    }
    std::vector<SessionFailure> sessions;
    std::size_t failed = 0;
    for (const SpoolSessionSummary& s : summaries) {
      if (s.stats.unreadable) print_error("warning: could not read " + s.file.path + ": " + s.stats.error);
      SessionFailure f{s.file.stem, s.overview.agent, s.overview.started_at, s.fingerprint};
      if (f.fingerprint.is_failure) ++failed;
      sessions.push_back(std::move(f));
    }
    const std::vector<FailureGroup> groups = group_failures(sessions);
    if (opts->json) {
      nlohmann::ordered_json j;
      j["dir"] = shown;
      j["sessions_read"] = summaries.size();
      j["failed_sessions"] = failed;
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const FailureGroup& g : groups) list.push_back(failure_group_json(g, opts->sessions_shown));
      j["failures"] = std::move(list);
      print_json(j);
      return;
    }
    if (state == DirState::missing) {
      print_line("No spool directory at " + shown + " \u2014 no sessions.");
      return;
    }
    write_out(plural(groups.size(), "failure", "failures") + " in " +
              plural(failed, "failed session", "failed sessions") + " of " +
              plural(summaries.size(), "session", "sessions") + " in " + shown + "\n" +
              render_groups(groups, opts->sessions_shown));
  });
}

}  // namespace promptetheus::cli
