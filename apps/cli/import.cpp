// `promptetheus import FILE` (contract §6.15): uploads an exported session document over HTTP.
// Unlike the reference (contract §11 item 15) it creates the trace first (from the
// session_started event), reports delivered, dead-lettered and spooled events separately, and
// exits 1 unless everything was delivered. It sends the file's events only (never the spool's
// recorded runs or outbox, unlike the reference); undelivered ones wait in the spool's outbox.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "analysis/python_number.hpp"
#include "analysis/session_store.hpp"
#include "cli_common.hpp"
#include "progress.hpp"
#include "promptetheus/options.hpp"
#include "transport/http_transport.hpp"
#include "transport/spool_line.hpp"

namespace promptetheus::cli {

void add_import_command(CLI::App& app, ExitCode& rc) {
  auto file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("import", "Upload an exported session document to the API");
  cmd->add_option("file", *file, "A document written by `promptetheus export`")->required();
  cmd->callback([file, &rc] {
    using namespace analysis;
    std::string error;
    const auto text = read_whole_file(*file, error);
    if (!text) {
      print_line(path_exists(*file) ? "Could not read " + *file + ": " + error : "No such file: " + *file);
      rc.value = 1;
      return;
    }
    const JsonView doc = parse_json(text->view());
    if (!doc.present()) {
      print_line("Could not parse " + *file + " as JSON.");
      rc.value = 1;
      return;
    }
    const JsonView events = doc.get("events");
    if (!events.is_array() || events.empty_container()) {
      print_line(*file + " has no events to import.");
      rc.value = 0;
      return;
    }
    const Options o = Options::from_env();
    if (o.api_key.empty()) {
      print_line("Cannot import: no api_key configured (set PROMPTETHEUS_API_KEY).");
      rc.value = 1;
      return;
    }
    if (o.api_url.empty()) {
      print_line("Cannot import: no api_url configured (set PROMPTETHEUS_API_URL or config.toml).");
      rc.value = 1;
      return;
    }

    // The wire form: canonical compact JSON with sorted keys and ASCII escapes.
    const std::string doc_session = doc.get("session_id").is_string() ? doc.get("session_id").as_string() : "";
    std::vector<EncodedEvent> batch;
    std::uint64_t skipped = 0;
    events.for_each_element([&](const JsonView& v) {
      const Event e = make_event(v);
      auto parsed = nlohmann::json::parse(v.raw(), nullptr, false);
      if (!e.is_object() || parsed.is_discarded()) {
        ++skipped;
        return;
      }
      EncodedEvent enc;
      const JsonView sid = v.get("session_id");
      enc.session_id = sid.is_string() && sid.raw().size() > 2 ? sid.as_string() : doc_session;
      if (enc.session_id.empty()) {
        ++skipped;
        return;
      }
      // The facts a transport needs are read back from the wire form, as from a spool line.
      const std::string session_id = std::move(enc.session_id);
      if (!detail::parse_spool_line(parsed.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace),
                                    session_id, enc)) {
        ++skipped;
        return;
      }
      enc.session_id = session_id;
      const auto seq = py_int(e.seq);
      enc.seq = seq && *seq > 0 ? static_cast<std::uint64_t>(*seq) : 0;
      batch.push_back(std::move(enc));
    });
    if (skipped) print_error("warning: skipped " + std::to_string(skipped) + " event(s) that are not importable objects");
    std::stable_sort(batch.begin(), batch.end(), [](const EncodedEvent& a, const EncodedEvent& b) {
      return a.session_id != b.session_id ? a.session_id < b.session_id : a.seq < b.seq;
    });
    const std::size_t total = batch.size();

    detail::HttpTransportConfig config = detail::http_config_from(o);
    // Imported events are redacted as the SDK would have redacted them (PROMPTETHEUS_REDACT).
    if (!sending_policy(o, config.policy)) {
      rc.value = 1;
      return;
    }
    if (config.policy) {
      for (auto& event : batch) config.policy->redact_line(event);
    }
    // The file only: the spool's recorded runs and outbox are not this command's to send.
    config.replay_outbox = false;
    detail::HttpTransport transport(std::move(config));
    // Sent in chunks so that the progress bar moves as outcomes come in.
    constexpr std::size_t kChunk = 500;
    detail::OutcomeTally outcomes;
    std::atomic<std::uint64_t> handled{0};
    std::atomic<bool> done{false};
    std::thread worker([&] {
      const Deadline deadline = Deadline::after(std::chrono::minutes(5));
      for (std::size_t begin = 0; begin < batch.size(); begin += kChunk) {
        std::vector<EncodedEvent> chunk(
            std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(begin)),
            std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), begin + kChunk))));
        transport.send(chunk, deadline);
        outcomes.add(chunk);
        handled += chunk.size();
      }
      transport.close(Deadline::after(std::chrono::seconds(10)));
      done = true;
    });
    ProgressBar bar("Importing", total);
    while (!done) {
      bar.update(handled.load());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    worker.join();
    bar.finish();

    const std::uint64_t delivered = outcomes.delivered + outcomes.duplicate;
    const std::uint64_t dead = outcomes.dead_lettered;
    const std::uint64_t lost = outcomes.dropped + outcomes.pending;
    const std::uint64_t accounted = delivered + dead + lost;
    const std::uint64_t pending = total > accounted ? total - accounted : 0;
    print_line("Imported " + std::to_string(delivered) + " event(s) to " + o.api_url + ".");
    if (dead) print_line("Dead-lettered " + std::to_string(dead) + " event(s) rejected by the server.");
    if (pending) {
      print_line(std::to_string(pending) + " event(s) still pending in " + display_path(o.spool_dir) +
                 " (run `promptetheus spool replay`).");
    }
    if (lost) print_line(std::to_string(lost) + " event(s) lost to I/O errors.");
    rc.value = delivered == total ? 0 : 1;
  });
}

}  // namespace promptetheus::cli
