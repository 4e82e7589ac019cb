// `promptetheus doctor` (contract §6.6): resolved configuration, transport, spool directory and
// backlog, and a connectivity check. The API key is never printed (only "set") and is read from
// the environment or config file only, never from the command line.
#include <CLI/CLI.hpp>

#include "analysis/pyrepr.hpp"
#include "analysis/session_store.hpp"
#include "cli_common.hpp"
#include "transport/spool.hpp"
#include "cli_http.hpp"
#include "policy/recording_policy.hpp"
#include "promptetheus/options.hpp"

namespace promptetheus::cli {

namespace {

std::string or_not_set(const std::string& v) { return v.empty() ? "(not set)" : v; }

std::string resolved_transport(const Options& o) {
  switch (o.transport) {
    case TransportMode::automatic:
      return o.api_key.empty() ? "spool (auto: no api_key)" : "http (auto: api_key set)";
    default:
      return to_string(o.transport);
  }
}

}  // namespace

void add_doctor_command(CLI::App& app, ExitCode& rc) {
  auto* cmd = app.add_subcommand("doctor", "Check configuration, spool backlog and connectivity");
  cmd->callback([&rc] {
    using namespace analysis;
    const Options o = Options::from_env();
    std::vector<SpoolFile> pending, dead;
    list_jsonl(o.spool_dir, pending);
    list_jsonl(join_path(o.spool_dir, detail::kDeadLetterDirName), dead);
    std::uint64_t pending_events = 0, dead_events = 0;
    for (const auto& f : pending) pending_events += count_lines(f.path).non_blank;
    for (const auto& f : dead) dead_events += count_lines(f.path).non_blank;

    std::string out = "Promptetheus configuration:\n";
    out += "  api_url      : " + or_not_set(o.api_url) + "\n";
    out += std::string("  api_key      : ") + (o.api_key.empty() ? "(not set)" : "set") + "\n";
    out += "  project_id   : " + or_not_set(o.project_id) + "\n";
    out += "  environment  : " + or_not_set(o.environment) + "\n";
    out += "  sample_rate  : " + py_float_repr(o.sample_rate) + "\n";
    out += "  redact       : " + (o.redact.empty() ? std::string("(off)") : o.redact) + "\n";
    out += detail::describe_policy(o) + "\n";
    out += "  transport    : " + resolved_transport(o) + "\n";
    out += "  spool_dir    : " + display_path(o.spool_dir) + "\n";
    out += "  spool backlog: " + std::to_string(pending_events) + " pending event(s) in " +
           std::to_string(pending.size()) + " file(s); " + std::to_string(dead_events) + " dead-lettered\n";
    for (const auto& w : o.warnings) print_error("warning: " + w);

    if (o.api_key.empty()) {
      out += "Connectivity   : no api_key configured (set PROMPTETHEUS_API_KEY).\n";
      rc.value = 1;
    } else if (o.api_url.empty()) {
      out += "Connectivity   : no api_url configured (set PROMPTETHEUS_API_URL or config.toml).\n";
      rc.value = 1;
    } else {
      std::string url = o.api_url;
      while (!url.empty() && url.back() == '/') url.pop_back();
      url += "/health";
      const HttpReply r = http_get(url, std::chrono::seconds(3));
      if (r.status >= 200 && r.status < 300) {
        out += "Connectivity   : OK (HTTP " + std::to_string(r.status) + " from " + url + ")\n";
        rc.value = 0;
      } else {
        const std::string reason = r.status ? "HTTP " + std::to_string(r.status) + " " + r.reason : r.reason;
        out += "Connectivity   : UNREACHABLE (" + reason + " (" + url + "))\n";
        rc.value = 1;
      }
    }
    write_out(out);
  });
}

}  // namespace promptetheus::cli
