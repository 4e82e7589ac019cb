// Durable delivery to the Promptetheus ingestion API (contract §4.5-4.7, DESIGN.md §2-3).
//
// Runs entirely on the pipeline's worker thread. send() posts each session's events in batches
// (at most batch_size events and max_batch_bytes of body), creating the session's trace first.
// It never sleeps: a batch that fails transiently is appended to the spool at once (the spool
// is the retry queue), and while a backoff, a Retry-After or an open circuit is in force new
// batches go straight to the spool. idle() and send() replay the spool once it is time to try
// again. send() sets the outcome of every event it is given exactly once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/delivery_accounting.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/transport.hpp"
#include "promptetheus/version.hpp"
#include "transport/curl_client.hpp"
#include "transport/http_outcome.hpp"
#include "transport/retry_policy.hpp"
#include "transport/spool.hpp"
#include "transport/spool_replay.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class GzipStream;

struct HttpTransportConfig {
  std::string endpoint = "http://127.0.0.1:4318";
  std::string api_key;  ///< sent as `Authorization: Bearer <key>` when set; never logged
  std::string spool_dir = ".promptetheus/spool";
  std::size_t batch_size = 50;
  std::size_t max_batch_bytes = 5u << 20;  ///< events per request are capped by body size too
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};
  long low_speed_bytes = 1024;  ///< abort a transfer slower than this (bytes/s) ...
  std::chrono::seconds low_speed_time{10};  ///< ... for this long
  std::size_t compress_min_bytes = 1024;  ///< gzip bodies at least this big; 0 = never
  int gzip_level = 1;
  /// Consecutive failed attempts of a batch (each retried from the spool after a backoff)
  /// before it counts as one failure of the circuit breaker.
  unsigned max_retries = 5;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30000};
  unsigned circuit_failure_threshold = 5;
  std::chrono::milliseconds circuit_reset{30000};
  std::chrono::seconds retry_after_cap{30};
  /// How long delivery pauses after 401/403, an unfollowed redirect or a TLS/URL error.
  std::chrono::milliseconds pause_on_config_error{300000};
  std::uint64_t max_spool_bytes = 256ull << 20;
  std::string user_agent = "promptetheus-cpp/" PROMPTETHEUS_VERSION_STRING;
  std::uint64_t rng_seed = 0;  ///< 0 = seeded from std::random_device
  std::function<SteadyClock::time_point()> clock;  ///< empty = steady_clock::now (tests inject)
  /// Redacts lines replayed from the spool (see ReplayOptions::policy); null: sent as read.
  std::shared_ptr<const EventPolicy> policy;
  /// What replay sends. The outbox (`<spool_dir>/outbox`, this transport's own retry backlog)
  /// by default; the recorded runs directly in `<spool_dir>` (spool mode's sessions) only when
  /// the user asks for them (`promptetheus spool replay`). `import` replays neither: it
  /// delivers its file only.
  bool replay_outbox = true;
  bool replay_recorded_runs = false;
  /// Where the SDK keeps screenshot and recording bytes (Options::artifact_dir): an artifact
  /// event whose storage_path lies under it is uploaded before the event is sent. Empty: none.
  std::string artifact_dir;
};

/// The HTTP transport's settings from Options: endpoint, key, spool, batching, timeout, gzip,
/// retries and circuit breaker. The one place Options become an HttpTransportConfig (the SDK's
/// transport and the CLI's import and spool replay).
HttpTransportConfig http_config_from(const Options& options);

/// Outcomes of replaying the spool. Events replayed were counted as spooled when they were
/// first given to send(); these counters say what became of them afterwards.
struct ReplayTotals {
  std::uint64_t delivered = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t safe_dropped = 0;
  std::uint64_t passes = 0;
};

class HttpTransport final : public Transport {
 public:
  /// `health` receives retries, batches and the circuit state (shared so that Stats can read it
  /// from any thread, also after the transport is gone).
  explicit HttpTransport(HttpTransportConfig config,
                         std::shared_ptr<TransportHealth> health = std::make_shared<TransportHealth>());
  /// Writes its retry backlog through `spool` (a copy sharing the caller's size estimate, live
  /// sessions and pruned count) instead of a spool of its own in config.spool_dir.
  HttpTransport(HttpTransportConfig config, std::shared_ptr<TransportHealth> health, Spool spool);
  ~HttpTransport() override;

  void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept override;
  void idle(const Deadline& deadline) noexcept override;
  void close(const Deadline& deadline) noexcept override;
  void interrupt() noexcept override;

  /// Replays the spool now, ignoring the backoff (not an open circuit). Worker thread only.
  ReplayReport replay_now(const Deadline& deadline) noexcept;

  const HttpTransportConfig& config() const noexcept { return config_; }
  const ReplayTotals& replay_totals() const noexcept { return replay_totals_; }
  const TransportHealth& health() const noexcept { return *health_; }
  /// True while a backoff, Retry-After or pause keeps requests from being made.
  bool backing_off() const;

 private:
  struct Delivery {
    std::vector<std::size_t> unaccounted;  ///< indices left pending: to spool (live) or keep (replay)
  };
  /// Events of one session. They belong to send()'s vector or to a replay batch; delivery
  /// writes only their outcome.
  using Batch = std::vector<EncodedEvent*>;

  SteadyClock::time_point now() const;
  bool may_attempt(const Deadline& deadline);
  /// Uploads the batch's artifacts, then posts its events; a local artifact file is removed
  /// once the event that now names the server's copy is delivered.
  Delivery deliver(const std::string& session_id, const Batch& batch, const Deadline& deadline);
  Delivery deliver_events(const std::string& session_id, const Batch& batch, const Deadline& deadline,
                          bool retried_404 = false);
  /// Uploads each artifact of the batch that is still a local file (contract §2.5, §5.1) and
  /// points its event at the server's copy; a file the server refuses for good is moved to the
  /// dead letter with its reason and the event carries `upload_error`. False when delivery must
  /// wait (the API is unreachable, paused or out of time): the batch then goes to the spool.
  bool upload_artifacts(const std::string& session_id, const Batch& batch, const Deadline& deadline,
                        std::vector<std::pair<const EncodedEvent*, std::string>>& uploaded);
  std::string dead_letter_artifact(const std::string& session_id, const std::string& path,
                                   const std::string& artifact_id, const std::string& reason);
  void account_accepted(const std::string& session_id, const Batch& batch, const HttpResult& r,
                        const Outcome& outcome, Delivery& d);
  void dead_letter(const std::string& session_id, const Batch& batch, const std::string& reason);
  bool ensure_trace(const std::string& session_id, const Deadline& deadline, bool force);
  HttpResult post(const std::string& path, const std::string& json, const Deadline& deadline);
  void note_success(const Outcome& outcome);
  void note_failure(const Outcome& outcome, bool counts_for_breaker);
  void note_retry_after(const Outcome& outcome);
  /// A request the API could not take now (transient failure, pause, interruption): backs off,
  /// or pauses delivery, as the outcome says.
  void note_unavailable(const Outcome& outcome);
  void publish_circuit_state();
  void remember_trace(const EncodedEvent& event);
  void forget_ended_sessions(const std::string& session_id, const Batch& batch);
  void spool_live(const std::string& session_id, const Batch& batch);
  ReplayReport replay(const Deadline& deadline, std::size_t max_batches) noexcept;
  std::vector<Batch> split(const Batch& events) const;

  HttpTransportConfig config_;
  std::shared_ptr<TransportHealth> health_;
  Spool spool_;
  CurlClient client_;
  CircuitBreaker breaker_;
  std::mt19937_64 rng_;
  std::atomic<bool> interrupted_{false};

  SteadyClock::time_point next_attempt_at_{};  ///< no request before this (backoff / Retry-After)
  unsigned attempt_ = 0;                         ///< consecutive failed attempts (backoff exponent)
  bool failing_logged_ = false;
  bool spool_pending_ = true;  ///< the spool may hold events (true at start: replay old runs)
  ReplayTotals replay_totals_;

  /// Trace bodies the events carried (EncodedEvent::trace_body), and sessions whose trace exists:
  /// of live sessions only (forgotten when a session's end is delivered).
  std::unordered_map<std::string, std::shared_ptr<const std::string>> trace_bodies_;
  std::unordered_set<std::string> traces_created_;

  std::string body_;        ///< reused request body buffer
  std::string compressed_;  ///< reused gzip output buffer
  std::unique_ptr<GzipStream> gzip_;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
