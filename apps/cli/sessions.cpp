// `promptetheus sessions [--dir D] [--json] [--format readable|reference] [--api URL]`.
// The default lists each session with its start, status, events and agent, newest first; with
// --api, the server's sessions (GET /api/sessions). `--format reference` prints the reference
// CLI's list byte for byte (contract §6.10).
#include <CLI/CLI.hpp>

#include <algorithm>

#include "analysis/readable_text.hpp"
#include "analysis/session_store.hpp"
#include "api_access.hpp"
#include "cli_common.hpp"
#include "core/ids.hpp"
#include "spool_summaries.hpp"

namespace promptetheus::cli {

namespace {
struct SessionsOptions {
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  bool json = false;
  OutputFormat format = OutputFormat::readable;
  ApiOptions api;
};

// One row of the readable list.
struct Row {
  std::string started, status, events, agent, id;
  bool outbox = false;
};

std::int64_t start_key(const std::string& started) {
  return detail::parse_timestamp(started).value_or(std::numeric_limits<std::int64_t>::min());
}

std::string render_rows(std::vector<Row> rows, const std::string& heading) {
  using analysis::one_line;
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return start_key(a.started) > start_key(b.started); });
  std::size_t width[4] = {7, 6, 6, 5};  // STARTED STATUS EVENTS AGENT
  for (Row& r : rows) {
    r.started = one_line(r.started);
    r.status = one_line(r.status);
    r.agent = one_line(r.agent);
    r.id = one_line(r.id);
    width[0] = std::max(width[0], r.started.size());
    width[1] = std::max(width[1], r.status.size());
    width[2] = std::max(width[2], r.events.size());
    width[3] = std::max(width[3], r.agent.size());
  }
  const auto pad = [](const std::string& s, std::size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  const auto right = [](const std::string& s, std::size_t w) { return std::string(w > s.size() ? w - s.size() : 0, ' ') + s; };
  std::string out = heading + "\n\n";
  out += "  " + pad("STARTED", width[0]) + "  " + pad("STATUS", width[1]) + "  " + right("EVENTS", width[2]) + "  " +
         pad("AGENT", width[3]) + "  ID\n";
  for (const Row& r : rows) {
    // Failed runs stand out; a run without an end may still be running, or was cut off.
    const bool ok = r.status == "completed" || r.status == "running" || r.status == "unfinished" || r.status == "-";
    out += ok ? "  " : "! ";
    out += pad(r.started, width[0]) + "  " + pad(r.status, width[1]) + "  " + right(r.events, width[2]) + "  " +
           pad(r.agent, width[3]) + "  " + r.id + (r.outbox ? "  (outbox: not yet delivered)" : "") + "\n";
  }
  return out;
}

std::string string_or(const nlohmann::json& row, const char* key, const std::string& fallback) {
  const auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The server's sessions: GET /api/sessions (`{"sessions": [trace rows]}`).
void list_remote(const SessionsOptions& opts, int& rc) {
  const ApiAccess access = api_access(opts.api);
  nlohmann::json sessions;
  std::string error;
  if (!fetch_list(access, "/api/sessions", "sessions", sessions, error)) {
    print_error("promptetheus: could not list sessions at " + access.url + ": " + error);
    rc = kApiErrorExit;
    return;
  }
  if (opts.json) {
    print_line(nlohmann::json{{"api", access.url}, {"sessions", std::move(sessions)}}.dump(
        2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::vector<Row> rows;
  for (const nlohmann::json& s : sessions) {
    if (!s.is_object()) continue;
    const auto count = s.find("event_count");
    rows.push_back(Row{string_or(s, "started_at", "-"), string_or(s, "status", "-"),
                       count != s.end() && count->is_number_integer() ? std::to_string(count->get<std::int64_t>()) : "-",
                       string_or(s, "agent", "-"), string_or(s, "id", "?")});
  }
  if (rows.empty()) {
    print_line("No sessions at " + access.url + ".");
    return;
  }
  const std::string heading =
      analysis::plural(rows.size(), "session", "sessions") + " at " + access.url + ", newest first:";
  write_out(render_rows(std::move(rows), heading));
}

void list_reference(const std::vector<analysis::SpoolFile>& files) {
  std::string out;
  for (const auto& f : files) {
    const analysis::LineCounts counts = analysis::count_lines(f.path);
    if (counts.unreadable) print_error("warning: could not read " + f.path);
    out += "  " + f.stem + ": " + std::to_string(counts.parsed) + " event(s)" +
           (f.in_outbox ? " (outbox: not yet delivered)" : "") + "\n";
  }
  write_out(out);
}

}  // namespace

void add_sessions_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<SessionsOptions>();
  auto* cmd = app.add_subcommand("sessions", "List sessions: spooled, or on a server with --api");
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_flag("--json", opts->json, "Machine-readable output");
  add_format_option(*cmd, opts->format);
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    using namespace analysis;
    rc.value = 0;
    if (!opts->api.url.empty()) return list_remote(*opts, rc.value);
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
        if (opts->format == OutputFormat::readable) {
          const SessionOverview o = build_timeline(s.events, configured_prices(), analysis::EntryText::none).overview;
          list.back()["overview"] = overview_json(o);
        }
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
    if (opts->format == OutputFormat::reference) return list_reference(files);
    DirState again;
    std::vector<Row> rows;
    for (const SpoolSessionSummary& s : summarise_spool(opts->dir, again, error)) {
      if (s.stats.unreadable) print_error("warning: could not read " + s.file.path);
      rows.push_back(Row{s.overview.started_at.value_or("-"), s.overview.status.value_or("unfinished"),
                         std::to_string(s.overview.events), s.overview.agent.value_or("-"), s.file.stem,
                         s.file.in_outbox});
    }
    write_out(render_rows(std::move(rows), plural(files.size(), "session", "sessions") + " in " + shown +
                                               ", newest first:"));
  });
}

}  // namespace promptetheus::cli
