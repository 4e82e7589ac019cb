// `promptetheus doctor` (contract §6.6): resolved configuration, transport, the spool's recorded
// runs and outbox, and a check of what the transport needs: a writable spool in spool mode, the
// API's /health otherwise. The API key is never printed (only "set") and is read from
// the environment or config file only, never from the command line.
#include <CLI/CLI.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

// Why the spool directory cannot be written, or "" when it can: the directory itself, or (when
// it does not exist yet, as before the first run) the nearest existing parent that the SDK
// will create it in. Nothing is created.
std::string spool_write_problem(const std::string& spool_dir) {
  std::string path = spool_dir.empty() ? "." : spool_dir;
  struct stat st {};
  while (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return std::strerror(errno);
    const auto slash = path.find_last_of('/', path.size() > 1 ? path.size() - 2 : 0);
    path = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  }
  if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
  if (::access(path.c_str(), W_OK | X_OK) != 0) return std::strerror(errno);
  return {};
}

}  // namespace

void add_doctor_command(CLI::App& app, ExitCode& rc) {
  auto* cmd = app.add_subcommand("doctor", "Check configuration, the spool and connectivity");
  cmd->callback([&rc] {
    using namespace analysis;
    // Its problems are logged once, as they are read (Options::from_env).
    const Options o = Options::from_env();
    std::vector<SpoolFile> files, dead;
    list_spool_pending(o.spool_dir, files);
    list_jsonl(join_path(o.spool_dir, detail::kDeadLetterDirName), dead);
    std::uint64_t recorded_events = 0, recorded_runs = 0, outbox_events = 0, outbox_files = 0, dead_events = 0;
    for (const auto& f : files) {
      const std::uint64_t lines = count_lines(f.path).non_blank;
      if (f.in_outbox) {
        outbox_events += lines;
        ++outbox_files;
      } else {
        recorded_events += lines;
        ++recorded_runs;
      }
    }
    for (const auto& f : dead) dead_events += count_lines(f.path).non_blank;
    const bool spool_mode =
        o.transport == TransportMode::spool || (o.transport == TransportMode::automatic && o.api_key.empty());

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
    // Recorded runs are the user's data, not a backlog; the outbox is what waits for delivery.
    out += "  recorded runs: " + std::to_string(recorded_runs) + " session file(s), " +
           std::to_string(recorded_events) + " event(s)\n";
    out += "  outbox       : " + std::to_string(outbox_events) + " event(s) waiting for delivery in " +
           std::to_string(outbox_files) + " file(s); " + std::to_string(dead_events) + " dead-lettered\n";

    if (spool_mode) {
      // Nothing is sent in spool mode: a healthy setup is one whose spool can be written.
      const std::string problem = spool_write_problem(o.spool_dir);
      out += "Connectivity   : not needed (spool mode records locally; set PROMPTETHEUS_API_KEY to deliver over HTTP)\n";
      if (problem.empty()) {
        out += "Spool          : OK (" + display_path(o.spool_dir) + " is writable)\n";
        rc.value = 0;
      } else {
        out += "Spool          : NOT WRITABLE (" + problem + " (" + display_path(o.spool_dir) + "))\n";
        rc.value = 1;
      }
    } else if (o.api_key.empty()) {
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
