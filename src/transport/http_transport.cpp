#include "transport/http_transport.hpp"


#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/files.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/session_file_name.hpp"
#include "transport/gzip_stream.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

HttpTransportConfig http_config_from(const Options& options) {
  HttpTransportConfig config;
  config.endpoint = options.api_url;
  config.api_key = options.api_key;
  config.spool_dir = options.spool_dir;
  config.batch_size = options.batch_size;
  config.max_batch_bytes = options.max_batch_bytes;
  config.request_timeout = options.http_timeout;
  config.compress_min_bytes = options.compress_min_bytes;
  config.max_retries = static_cast<unsigned>(std::max(0, options.max_retries));
  config.circuit_failure_threshold = static_cast<unsigned>(std::max(1, options.circuit_failure_threshold));
  config.circuit_reset = options.circuit_reset;
  config.max_spool_bytes = options.spool_max_bytes;
  config.artifact_dir = options.artifact_dir;
  return config;
}

HttpTransport::HttpTransport(HttpTransportConfig config, std::shared_ptr<TransportHealth> health)
    : HttpTransport(config, std::move(health),
                    Spool(config.spool_dir, config.max_spool_bytes, PendingPlace::outbox)) {}

HttpTransport::HttpTransport(HttpTransportConfig config, std::shared_ptr<TransportHealth> health, Spool spool)
    : config_(std::move(config)),
      health_(health ? std::move(health) : std::make_shared<TransportHealth>()),
      spool_(std::move(spool)),
      client_(CurlOptions{config_.connect_timeout, config_.request_timeout, config_.low_speed_bytes,
                          config_.low_speed_time, config_.user_agent}),
      breaker_(config_.circuit_failure_threshold, config_.circuit_reset, config_.clock),
      rng_(config_.rng_seed ? config_.rng_seed : std::random_device{}()),
      gzip_(std::make_unique<GzipStream>(config_.gzip_level)) {
  spool_pending_ = config_.replay_outbox || config_.replay_recorded_runs;
  config_.batch_size = std::max<std::size_t>(1, config_.batch_size);
  config_.max_batch_bytes = std::max<std::size_t>(1, config_.max_batch_bytes);
}

HttpTransport::~HttpTransport() = default;

SteadyClock::time_point HttpTransport::now() const {
  return config_.clock ? config_.clock() : SteadyClock::now();
}

bool HttpTransport::backing_off() const { return now() < next_attempt_at_; }

bool HttpTransport::may_attempt(const Deadline& deadline) {
  if (interrupted_.load(std::memory_order_acquire) || deadline.expired()) return false;
  if (now() < next_attempt_at_) return false;
  bool allowed = breaker_.allow();
  publish_circuit_state();
  return allowed;
}

void HttpTransport::publish_circuit_state() {
  health_->circuit_state.store(static_cast<int>(breaker_.state()), std::memory_order_relaxed);
}

void HttpTransport::note_retry_after(const Outcome& outcome) {
  if (outcome.retry_after) next_attempt_at_ = std::max(next_attempt_at_, now() + *outcome.retry_after);
}

void HttpTransport::note_success(const Outcome& outcome) {
  breaker_.record_success();
  attempt_ = 0;
  if (failing_logged_) {
    log_warn("delivery to " + config_.endpoint + " recovered");
    failing_logged_ = false;
  }
  note_retry_after(outcome);
  publish_circuit_state();
}

void HttpTransport::note_failure(const Outcome& outcome, bool counts_for_breaker) {
  if (!failing_logged_) {
    log_warn("delivery to " + config_.endpoint + " failed (" + outcome.reason +
             "); events are spooled in " + spool_.pending_dir() + " and retried");
    failing_logged_ = true;
  } else {
    // Every failure after the first, for PROMPTETHEUS_DEBUG (the warning above is said once).
    log_debug("delivery to " + config_.endpoint + " failed again (" + outcome.reason + ")");
  }
  const auto delay = backoff_delay(attempt_, config_.backoff_base, config_.backoff_cap, rng_);
  next_attempt_at_ = now() + delay;
  note_retry_after(outcome);
  if (counts_for_breaker) {
    // A batch is retried max_retries times (from the spool, after a backoff each time) before
    // the failure counts for the breaker; a failed half-open probe reopens it at once.
    if (attempt_ < config_.max_retries && breaker_.state() != CircuitBreaker::State::half_open) {
      ++attempt_;
      health_->retries.fetch_add(1, std::memory_order_relaxed);
    } else {
      attempt_ = 0;
      breaker_.record_failure();
    }
  } else {
    health_->retries.fetch_add(1, std::memory_order_relaxed);
  }
  publish_circuit_state();
}

HttpResult HttpTransport::post(const std::string& path, const std::string& json,
                               const Deadline& deadline) {
  PostRequest req;
  req.url = join_url(config_.endpoint, path);
  req.api_key = config_.api_key;
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining());
  req.timeout = std::max(remaining, std::chrono::milliseconds(1));
  if (config_.compress_min_bytes > 0 && json.size() >= config_.compress_min_bytes &&
      gzip_->compress(json, compressed_)) {
    req.body = compressed_;
    req.gzip = true;
  } else {
    req.body = json;
  }
  return client_.post(req);
}

void HttpTransport::note_unavailable(const Outcome& outcome) {
  switch (outcome.action) {
    case Action::transient:
      note_failure(outcome, true);
      break;
    case Action::pause:
      breaker_.open_for(config_.pause_on_config_error);
      note_failure(outcome, false);
      break;
    default:
      break;  // interrupted: shutdown is cutting the transfer short, not a failure of the API
  }
}

bool HttpTransport::ensure_trace(const std::string& sid, const Deadline& deadline, bool force) {
  if (!force && traces_created_.count(sid)) return true;
  std::string bare;
  const std::string* body = nullptr;
  auto known = trace_bodies_.find(sid);
  if (known != trace_bodies_.end()) {
    body = known->second.get();
  } else if (force) {
    // The server lost (or never had) the trace and no session_started was seen: create a bare
    // one so the events are not lost as 404s.
    bare = nlohmann::json{{"id", sid}, {"user_goal", ""}}.dump(-1, ' ', true,
                                                                nlohmann::json::error_handler_t::replace);
    body = &bare;
  } else {
    return true;  // nothing known: created by an earlier run, or found out through a 404
  }
  HttpResult r = post("/api/traces", *body, deadline);
  Outcome o = classify(r, std::chrono::system_clock::now(), config_.retry_after_cap);
  switch (o.action) {
    case Action::accepted:
    case Action::duplicate:
      traces_created_.insert(sid);
      note_success(o);
      return true;
    case Action::transient:
    case Action::pause:
    case Action::interrupted:
      note_unavailable(o);
      return false;
    case Action::trace_missing:
    case Action::too_large:
    case Action::dead_letter:
      log_warn("creating trace " + sid + " failed (" + o.reason + ")");
      traces_created_.insert(sid);  // do not ask again; the events still go out
      return true;
  }
  return false;
}

namespace {

void set_outcome(const std::vector<EncodedEvent*>& events, DeliveryOutcome outcome) {
  for (EncodedEvent* e : events) e->outcome = outcome;
}

}  // namespace

void HttpTransport::dead_letter(const std::string& sid, const Batch& batch, const std::string& reason) {
  std::vector<std::pair<const EncodedEvent*, std::string>> rejected;
  rejected.reserve(batch.size());
  for (const auto* e : batch) rejected.emplace_back(e, reason);
  set_outcome(batch, spool_.dead_letter(sid, rejected) ? DeliveryOutcome::dead_lettered : DeliveryOutcome::dropped);
}

void HttpTransport::account_accepted(const std::string& sid, const Batch& batch, const HttpResult& r,
                                     const Outcome& outcome, Delivery& d) {
  const std::vector<const EncodedEvent*> view(batch.begin(), batch.end());
  Resolution res = resolve_accepted(r.body, r.body_truncated, view);
  // Accepted unless rejected below or left unaccounted.
  set_outcome(batch, DeliveryOutcome::delivered);
  if (!res.rejected.empty()) {
    std::vector<std::pair<const EncodedEvent*, std::string>> rejected;
    for (auto& [index, reason] : res.rejected) rejected.emplace_back(batch[index], reason);
    const DeliveryOutcome kept =
        spool_.dead_letter(sid, rejected) ? DeliveryOutcome::dead_lettered : DeliveryOutcome::dropped;
    for (auto& entry : res.rejected) batch[entry.first]->outcome = kept;
  }
  if (res.fully_accounted) {
    health_->delivered_batches.fetch_add(1, std::memory_order_relaxed);
    note_success(outcome);
  } else {
    // Ambiguous answer: the server may or may not have stored these; send them again later
    // (it de-duplicates on idempotency_key), after a backoff so a confused server is not hammered.
    d.unaccounted = std::move(res.unaccounted);
    for (std::size_t i : d.unaccounted) batch[i]->outcome = DeliveryOutcome::pending;
    breaker_.record_success();
    note_failure(outcome, false);
  }
}

namespace {

// A header value from a user's file name: no line breaks or other control bytes.
std::string header_safe(std::string value) {
  for (char& c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  }
  return value;
}

bool is_artifact_event(const EncodedEvent& e) { return e.type == "screenshot" || e.type == "replay_artifact"; }

// `object[key]` when it is a string, else "" (a JSON value from a spool line or a server).
std::string string_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string HttpTransport::dead_letter_artifact(const std::string& sid, const std::string& path,
                                                const std::string& artifact_id, const std::string& reason) {
  namespace fs = std::filesystem;
  const std::string dir = spool_.dead_letter_dir() + "/artifacts/" + safe_session_name(sid) + "/" +
                          safe_session_name(artifact_id);
  const std::string target = dir + "/" + fs::path(path).filename().string();
  if (!make_private_dirs(dir)) return path;
  std::error_code ec;
  fs::rename(path, target, ec);
  if (ec && copy_new_file(path, target)) fs::remove(path, ec);  // another file system
  const std::string kept = fs::exists(target, ec) ? target : path;
  const std::string record = nlohmann::json{{"session_id", sid},
                                            {"artifact_id", artifact_id},
                                            {"path", kept},
                                            {"reason", reason}}
                                 .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  fs::remove(dir + "/reason.json", ec);
  if (!write_new_file(dir + "/reason.json", record + "\n")) log_warn("cannot record why artifact " + artifact_id + " was refused");
  log_warn("the API refused artifact " + artifact_id + " of session " + sid + " (" + reason + "); kept in " + dir);
  return kept;
}

bool HttpTransport::upload_artifacts(const std::string& sid, const Batch& batch, const Deadline& deadline,
                                     std::vector<std::pair<const EncodedEvent*, std::string>>& uploaded) {
  if (config_.artifact_dir.empty()) return true;
  const std::string local_prefix = config_.artifact_dir + "/";
  for (EncodedEvent* e : batch) {
    if (!is_artifact_event(*e)) continue;
    nlohmann::json event = nlohmann::json::parse(e->json, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object() || !event["payload"].is_object()) continue;
    nlohmann::json& payload = event["payload"];
    if (payload.contains("upload_error")) continue;
    const std::string path = string_at(payload, "storage_path");
    const std::string artifact_id = string_at(payload, "artifact_id");
    // Only the SDK's own copies are uploaded: a server path (after an upload) or a vanished
    // file is sent as it is.
    if (path.rfind(local_prefix, 0) != 0 || artifact_id.empty() || ::access(path.c_str(), R_OK) != 0) continue;
    if (!may_attempt(deadline)) return false;

    const bool screenshot = e->type == "screenshot";
    FilePostRequest req;
    req.url = join_url(config_.endpoint, "/api/traces/" + encode_path_segment(sid) + "/artifacts");
    req.path = path;
    req.content_type = screenshot ? "image/png" : "video/webm";
    req.api_key = config_.api_key;
    req.timeout = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining()),
                           std::chrono::milliseconds(1));
    std::error_code size_error;
    const auto size = std::filesystem::file_size(path, size_error);
    // The reference SDK's headers (contract §4.4), and our artifact id so that a retried upload
    // replaces the first copy instead of adding another.
    req.extra_headers = {"X-Promptetheus-Filename: " + header_safe(std::filesystem::path(path).filename().string()),
                         "X-Promptetheus-Size-Bytes: " + std::to_string(size_error ? 0 : size),
                         std::string("X-Promptetheus-Artifact-Type: ") + (screenshot ? "screenshot" : "replay"),
                         "X-Promptetheus-Artifact-Id: " + header_safe(artifact_id)};
    HttpResult r = client_.post_file(req);
    Outcome o = classify(r, std::chrono::system_clock::now(), config_.retry_after_cap);
    // The server lost the trace (or never had it): create it, then try once more, as for events.
    if (o.action == Action::trace_missing && ensure_trace(sid, deadline, true) && may_attempt(deadline)) {
      r = client_.post_file(req);
      o = classify(r, std::chrono::system_clock::now(), config_.retry_after_cap);
    }
    std::string refused;
    switch (o.action) {
      case Action::accepted:
      case Action::duplicate: {
        note_success(o);
        // {"artifact": {...}}, or the bare row (as the reference SDK accepts it).
        const auto answer = nlohmann::json::parse(r.body, nullptr, false);
        const auto artifact = answer.is_object() && answer.contains("artifact") ? answer["artifact"] : answer;
        const std::string server_id = string_at(artifact, "artifact_id");
        const std::string server_path = string_at(artifact, "storage_path");
        if (server_id.empty() || server_path.empty()) {
          refused = "the answer to the upload has no artifact_id and storage_path";
          break;
        }
        payload["artifact_id"] = server_id;
        payload["storage_path"] = server_path;
        e->json.clear();
        write_json(e->json, event);
        uploaded.emplace_back(e, path);
        health_->uploaded_artifacts.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      case Action::transient:
      case Action::pause:
      case Action::interrupted:
        note_unavailable(o);
        return false;
      case Action::trace_missing:
      case Action::too_large:
      case Action::dead_letter:
        note_success(o);
        refused = o.reason;
        break;
    }
    // Refused for good: the bytes wait in the dead letter, the event still goes out and says why.
    payload["storage_path"] = dead_letter_artifact(sid, path, artifact_id, refused);
    payload["upload_error"] = refused;
    health_->dead_lettered_artifacts.fetch_add(1, std::memory_order_relaxed);
    e->json.clear();
    write_json(e->json, event);
  }
  return true;
}

HttpTransport::Delivery HttpTransport::deliver(const std::string& sid, const Batch& batch, const Deadline& deadline) {
  Delivery d;
  if (batch.empty()) return d;
  std::vector<std::pair<const EncodedEvent*, std::string>> uploaded;
  if (!ensure_trace(sid, deadline, false) || !upload_artifacts(sid, batch, deadline, uploaded)) {
    for (std::size_t i = 0; i < batch.size(); ++i) d.unaccounted.push_back(i);
    return d;
  }
  d = deliver_events(sid, batch, deadline);
  // The server has the bytes and the delivered event names its copy: the local one is not needed.
  for (const auto& [event, path] : uploaded) {
    if (event->outcome == DeliveryOutcome::delivered || event->outcome == DeliveryOutcome::duplicate) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }
  return d;
}

HttpTransport::Delivery HttpTransport::deliver_events(const std::string& sid, const Batch& batch,
                                                      const Deadline& deadline, bool retried_404) {
  Delivery d;
  auto all = [&] {
    d.unaccounted.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) d.unaccounted[i] = i;
    return d;
  };
  if (batch.empty()) return d;
  if (!ensure_trace(sid, deadline, false)) return all();

  body_.clear();
  body_ += "{\"events\":[";
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i) body_ += ',';
    body_ += batch[i]->json;
  }
  body_ += "]}";
  HttpResult r = post("/api/traces/" + encode_path_segment(sid) + "/events", body_, deadline);
  Outcome o = classify(r, std::chrono::system_clock::now(), config_.retry_after_cap);

  switch (o.action) {
    case Action::accepted:
      account_accepted(sid, batch, r, o, d);
      return d;
    case Action::duplicate:
      set_outcome(batch, DeliveryOutcome::duplicate);
      note_success(o);
      return d;
    case Action::dead_letter:
      dead_letter(sid, batch, o.reason);
      note_success(o);
      return d;
    case Action::too_large: {
      note_success(o);
      if (batch.size() == 1) {
        dead_letter(sid, batch, o.reason);
        return d;
      }
      const std::size_t half = batch.size() / 2;
      Batch first(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(half));
      Batch second(batch.begin() + static_cast<std::ptrdiff_t>(half), batch.end());
      Delivery a = deliver_events(sid, first, deadline, retried_404);
      Delivery b;
      if (may_attempt(deadline)) {
        b = deliver_events(sid, second, deadline, retried_404);
      } else {
        for (std::size_t i = 0; i < second.size(); ++i) b.unaccounted.push_back(i);
      }
      d.unaccounted = std::move(a.unaccounted);
      for (std::size_t i : b.unaccounted) d.unaccounted.push_back(i + half);
      return d;
    }
    case Action::trace_missing:
      if (!retried_404 && ensure_trace(sid, deadline, true) && may_attempt(deadline)) {
        return deliver_events(sid, batch, deadline, true);
      }
      note_failure(o, true);
      return all();
    case Action::transient:
      note_failure(o, true);
      return all();
    case Action::pause:
      if (!failing_logged_ || breaker_.state() != CircuitBreaker::State::open) {
        log_warn("the API refused delivery (" + o.reason + "); pausing for " +
                 std::to_string(config_.pause_on_config_error.count() / 1000) +
                 " s, events are kept in the spool");
      }
      breaker_.open_for(config_.pause_on_config_error);
      note_failure(o, false);
      return all();
    case Action::interrupted:
      return all();
  }
  return all();
}

std::vector<HttpTransport::Batch> HttpTransport::split(const Batch& events) const {
  std::vector<Batch> out;
  Batch current;
  std::size_t bytes = 0;
  for (auto* e : events) {
    const std::size_t size = e->json.size() + 1;
    if (!current.empty() &&
        (current.size() >= config_.batch_size || bytes + size > config_.max_batch_bytes)) {
      out.push_back(std::move(current));
      current.clear();
      bytes = 0;
    }
    current.push_back(e);
    bytes += size;
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

void HttpTransport::remember_trace(const EncodedEvent& e) {
  if (!e.trace_body || e.trace_body->empty()) return;
  auto& known = trace_bodies_[e.session_id];
  if (!known) known = e.trace_body;
}

void HttpTransport::forget_ended_sessions(const std::string& sid, const Batch& batch) {
  // Once a session's end has left (delivered, or settled otherwise), nothing more of it needs its
  // trace: the caches hold live sessions only, however many sessions a process runs. An end that
  // went to the spool keeps them for the replay.
  for (const EncodedEvent* e : batch) {
    if (!e->ends_session || e->outcome == DeliveryOutcome::spooled || e->outcome == DeliveryOutcome::pending) continue;
    spool_.release(sid);
    trace_bodies_.erase(sid);
    traces_created_.erase(sid);
  }
}

void HttpTransport::spool_live(const std::string& sid, const Batch& batch) {
  if (batch.empty()) return;
  const std::vector<const EncodedEvent*> view(batch.begin(), batch.end());
  if (spool_.append(sid, view)) {
    set_outcome(batch, DeliveryOutcome::spooled);
    spool_pending_ = true;
  } else {
    set_outcome(batch, DeliveryOutcome::dropped);
  }
}

void HttpTransport::send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept {
  // Group by session, keeping first-appearance order and each session's event order.
  std::vector<std::pair<std::string, Batch>> groups;
  try {
    std::unordered_map<std::string_view, std::size_t> index;
    for (auto& e : events) {
      static const std::string unknown_session = "unknown-session";
      const std::string& sid = e.session_id.empty() ? unknown_session : e.session_id;
      std::size_t g;
      if (!groups.empty() && groups.back().first == sid) {
        g = groups.size() - 1;
      } else {
        auto it = index.find(sid);
        if (it == index.end()) {
          remember_trace(e);  // every event of a live session carries its trace body
          groups.emplace_back(sid, Batch{});
          g = groups.size() - 1;
          // Key by the event's own string: `groups` may reallocate and move its copies.
          index.emplace(sid, g);
        } else {
          g = it->second;
        }
      }
      groups[g].second.push_back(&e);
    }

    // Older spooled events first, within a small budget so a backlog never stalls the queue.
    if (spool_pending_ && may_attempt(deadline)) replay(deadline, 4);

    for (auto& [sid, session_events] : groups) {
      for (const Batch& batch : split(session_events)) {
        if (!may_attempt(deadline)) {
          if (breaker_.state() == CircuitBreaker::State::open) {
            health_->circuit_skipped_batches.fetch_add(1, std::memory_order_relaxed);
          }
          spool_live(sid, batch);
          continue;
        }
        Delivery d = deliver(sid, batch, deadline);
        Batch retry;
        retry.reserve(d.unaccounted.size());
        for (std::size_t i : d.unaccounted) retry.push_back(batch[i]);
        spool_live(sid, retry);
        forget_ended_sessions(sid, batch);
      }
    }
  } catch (...) {
    // Out of memory or similar: whatever has no outcome yet goes to the spool (a few events
    // may be spooled after the server took them; it de-duplicates them).
    log_error("HTTP delivery failed unexpectedly; spooling the batch");
    try {
      for (auto& [sid, session_events] : groups) {
        Batch rest;
        for (EncodedEvent* e : session_events) {
          if (e->outcome == DeliveryOutcome::pending) rest.push_back(e);
        }
        spool_live(sid, rest);
      }
    } catch (...) {
      for (auto& e : events) {
        if (e.outcome == DeliveryOutcome::pending) e.outcome = DeliveryOutcome::dropped;
      }
    }
  }
}

ReplayReport HttpTransport::replay(const Deadline& deadline, std::size_t max_batches) noexcept {
  ReplayReport report;
  try {
    ReplayOptions options;
    options.batch_size = config_.batch_size;
    options.deadline = deadline;
    options.max_batches = max_batches;
    options.policy = config_.policy;
    options.dead_letter_dir = spool_.dead_letter_dir();  // the outbox's too
    OutcomeTally tally;
    const auto sink = [&](const std::string& sid, std::vector<EncodedEvent>& batch) {
      ReplayBatchResult result;
      for (const auto& e : batch) {
        if (e.trace_body) remember_trace(e);  // its session_started line
      }
      if (!may_attempt(deadline)) {
        result.stop = true;
        return result;
      }
      Batch ptrs;
      for (auto& e : batch) ptrs.push_back(&e);
      Delivery d = deliver(sid, ptrs, deadline);
      tally.add(batch);  // pending ones stay in the spool
      forget_ended_sessions(sid, ptrs);
      result.keep = std::move(d.unaccounted);
      health_->replay_handled_events.fetch_add(batch.size() - std::min(batch.size(), result.keep.size()),
                                               std::memory_order_relaxed);
      // Anything not accounted means "try again later", not "go on now".
      result.stop = !result.keep.empty() && result.keep.size() == batch.size();
      return result;
    };
    // The transport's own backlog is where it spools (the outbox); recorded runs are the files
    // directly in the spool directory.
    std::vector<std::string> dirs;
    if (config_.replay_outbox) dirs.push_back(spool_.pending_dir());
    if (config_.replay_recorded_runs && spool_.dir() != spool_.pending_dir()) dirs.push_back(spool_.dir());
    for (const std::string& dir : dirs) {
      report += replay_spool(dir, options, sink);
      if (report.stopped || report.out_of_budget) break;
    }
    replay_totals_.delivered += tally.delivered;
    replay_totals_.dead_lettered += tally.dead_lettered;
    replay_totals_.safe_dropped += tally.duplicate;
    ++replay_totals_.passes;
    health_->replayed_events.fetch_add(tally.delivered, std::memory_order_relaxed);
    if (!report.stopped && !report.out_of_budget && report.events_kept == 0 && report.files_busy == 0 &&
        !report.io_error) {
      spool_pending_ = false;
    }
  } catch (...) {
    report.io_error = true;
  }
  return report;
}

ReplayReport HttpTransport::replay_now(const Deadline& deadline) noexcept {
  next_attempt_at_ = SteadyClock::time_point{};
  return replay(deadline, 0);
}

void HttpTransport::idle(const Deadline& deadline) noexcept {
  if (spool_pending_ && may_attempt(deadline)) replay(deadline, 0);
}

void HttpTransport::close(const Deadline& deadline) noexcept {
  // Everything given to send() is already delivered or durable in the spool; use what time
  // is left for one more replay pass when the API is reachable.
  if (spool_pending_ && may_attempt(deadline)) replay(deadline, 0);
}

void HttpTransport::interrupt() noexcept {
  interrupted_.store(true, std::memory_order_release);
  client_.abort();
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
