// `promptetheus spool replay [--dir D]` (contract §6.8): delivers the spooled events over HTTP.
// Unlike the reference (contract §11 item 15) it reports delivered, dead-lettered and still
// pending events separately, and exits 1 unless everything was delivered. Traces are created
// from each session's session_started event before its events, so replayed sessions are not
// rejected as unknown.
#include <CLI/CLI.hpp>

#include <atomic>
#include <thread>

#include "analysis/session_store.hpp"
#include "cli_common.hpp"
#include "progress.hpp"
#include "promptetheus/options.hpp"
#include "transport/http_transport.hpp"
#include "transport/spool.hpp"

namespace promptetheus::cli {

namespace {

// Events waiting in the spool: its recorded runs and its outbox.
std::uint64_t pending_events(const std::string& dir) {
  std::uint64_t n = 0;
  for (const std::string& where : {dir, analysis::join_path(dir, detail::kOutboxDirName)}) {
    std::vector<analysis::SpoolFile> files;
    analysis::list_jsonl(where, files);
    for (const auto& f : files) n += analysis::count_lines(f.path).non_blank;
  }
  return n;
}

}  // namespace

void add_spool_replay_command(CLI::App& spool, ExitCode& rc) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = spool.add_subcommand("replay", "Deliver spooled events to the API");
  add_spool_dir_option(*cmd, *dir);
  cmd->callback([dir, &rc] {
    const Options o = Options::from_env();
    if (o.api_key.empty()) {
      print_line("Cannot replay: no api_key configured (set PROMPTETHEUS_API_KEY).");
      rc.value = 1;
      return;
    }
    if (o.api_url.empty()) {
      print_line("Cannot replay: no api_url configured (set PROMPTETHEUS_API_URL or config.toml).");
      rc.value = 1;
      return;
    }
    const std::string shown = analysis::display_path(*dir);
    if (!analysis::is_directory(*dir)) {
      print_line("No spool directory at " + shown + " \u2014 nothing to replay.");
      rc.value = 0;
      return;
    }
    const std::uint64_t before = pending_events(*dir);
    if (before == 0) {
      print_line("No pending spool events to replay.");
      rc.value = 0;
      return;
    }
    detail::HttpTransportConfig config = detail::http_config_from(o);
    // The spool replayed is the one named by --dir (default .promptetheus/spool), not the
    // configured spool_dir: the command's contract (§6.8) takes the directory as its option.
    config.spool_dir = *dir;
    config.replay_recorded_runs = true;  // what this command is for; the outbox is sent too
    if (!sending_policy(o, config.policy)) {
      rc.value = 1;
      return;
    }
    // The progress bar reads the transport's atomic counters, advanced as each batch ends.
    const auto health = std::make_shared<detail::TransportHealth>();
    detail::HttpTransport transport(config, health);

    std::atomic<bool> done{false};
    std::uint64_t malformed = 0;  // written by the worker, read after the join
    std::thread worker([&] {
      // Passes continue while they make progress; a transient failure ends the run.
      for (int pass = 0; pass < 1000; ++pass) {
        const auto report = transport.replay_now(Deadline::after(std::chrono::minutes(5)));
        malformed += report.malformed_lines;
        if (report.stopped || report.events_sent == 0 || report.events_kept == 0) break;
      }
      transport.close(Deadline::after(std::chrono::seconds(10)));
      done = true;
    });
    ProgressBar bar("Replaying", before);
    while (!done) {
      if (bar.active()) bar.update(health->replay_handled_events.load(std::memory_order_relaxed));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    worker.join();
    bar.finish();

    const auto& totals = transport.replay_totals();
    const std::uint64_t after = pending_events(*dir);
    const std::uint64_t delivered = totals.delivered + totals.safe_dropped;
    print_line("Replayed " + std::to_string(delivered) + " event(s) to " + o.api_url + "; " + std::to_string(after) +
               " still pending.");
    if (totals.dead_lettered > 0) {
      print_line("Dead-lettered " + std::to_string(totals.dead_lettered) + " event(s) rejected by the server (see " +
                 analysis::join_path(shown, detail::kDeadLetterDirName) + ").");
    }
    if (malformed > 0) {
      print_line("Moved " + std::to_string(malformed) + " line(s) that are not events to " +
                 analysis::join_path(shown, detail::kDeadLetterDirName) + " (see their _reject_reason).");
    }
    rc.value = after == 0 && totals.dead_lettered == 0 && malformed == 0 ? 0 : 1;
  });
}

}  // namespace promptetheus::cli
