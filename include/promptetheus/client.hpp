// Client: one event pipeline (queue + worker thread + transport). The process has a default
// client (init/shutdown/flush/stats below); explicit Clients serve tests and hosts that need
// several pipelines.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "promptetheus/export.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/status.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
class Pipeline;
struct ClientAccess;
PROMPTETHEUS_END_DETAIL_NAMESPACE

PROMPTETHEUS_BEGIN_NAMESPACE

/// A snapshot of a client's counters. Every event a helper accepted ends in exactly one of:
/// written (delivered or spooled), dead_lettered, sampled_out, tail_dropped, or one of the
/// dropped_* reasons (or is still queued, or held by tail sampling).
struct Stats {
  std::uint64_t enqueued = 0;          ///< accepted onto the queue
  std::uint64_t written = 0;           ///< delivered + spooled
  std::uint64_t delivered = 0;         ///< accepted by the API (or kept by a memory/custom transport)
  std::uint64_t spooled = 0;           ///< appended to spool files (includes overflow spills)
  std::uint64_t overflow_spilled = 0;  ///< of spooled: written by the caller because the queue was full
  std::uint64_t dead_lettered = 0;     ///< rejected by the API, kept in dead-letter/
  std::uint64_t retries = 0;           ///< HTTP attempts repeated after a transient failure
  std::uint64_t dropped_queue_full = 0;    ///< queue full and the spool unavailable (or its file locked)
  std::uint64_t dropped_after_end = 0;     ///< emitted after the session's session_end
  std::uint64_t dropped_invalid = 0;       ///< failed envelope validation (contract §1.3)
  std::uint64_t dropped_io_error = 0;      ///< could not be written (spool I/O error) or serialised
  std::uint64_t dropped_shutdown = 0;      ///< still queued when shutdown ran out of time
  std::uint64_t dropped_duplicate = 0;     ///< the API already had them (HTTP 409)
  /// Spooled earlier (by this process or an earlier run), then deleted by the spool size cap
  /// (docs/delivery.md). Reported beside the counters above, not part of dropped_total().
  std::uint64_t dropped_spool_cap = 0;
  /// Not recorded by policy (Options::event_sample_rates): a choice, not a loss.
  std::uint64_t sampled_out = 0;
  /// Sessions not recorded at all by head sampling (Options::sample_rate); their helpers did
  /// nothing, so no event of theirs is counted anywhere.
  std::uint64_t sessions_sampled_out = 0;
  /// Events of sessions tail sampling dropped (Options::tail_sample): a choice, not a loss.
  std::uint64_t tail_dropped = 0;
  /// Events tail sampling holds now, waiting for their session's end.
  std::uint64_t tail_held = 0;
  /// Sessions tail sampling kept early because they reached a bound of what it holds.
  std::uint64_t tail_decided_early = 0;
  /// Events in which redaction replaced something (beside the counters above).
  std::uint64_t redacted = 0;
  /// Events whose redaction failed: recorded as the redaction_failed skeleton, or unredacted when
  /// Options::redact_fail_open (beside the counters above; includes lines of older spool files).
  std::uint64_t redaction_failed = 0;
  /// Events cut to the payload limits (Options::max_string_bytes, max_event_bytes).
  std::uint64_t truncated = 0;
  /// Spans, tool calls and wrapped tools that ran on a thread with no current session, so
  /// recorded nothing: process-wide (they belong to no client), the same in every client's
  /// stats. The first is reported under PROMPTETHEUS_DEBUG. Usually a thread that was not
  /// given the session (pass the session, or a Context: promptetheus/context.hpp).
  std::uint64_t no_session = 0;
  /// Screenshot and recording files uploaded to the API (HTTP only), and files it refused for
  /// good, kept in dead-letter/artifacts/ with the reason (their events are still delivered).
  std::uint64_t artifacts_uploaded = 0;
  std::uint64_t artifacts_dead_lettered = 0;
  /// The OpenTelemetry destination (Options::otlp_endpoint), in spans, beside the counters
  /// above (which count the events of the transport beside it): taken by the endpoint, waiting
  /// in <spool_dir>/otlp/ (sent by the exporter's thread, or by a later process), refused by
  /// it (a partial success, or kept in dead-letter/otlp/), and lost (the outbox's size cap).
  std::uint64_t otlp_spans_exported = 0;
  std::uint64_t otlp_spans_pending = 0;
  std::uint64_t otlp_spans_rejected = 0;
  std::uint64_t otlp_spans_dropped = 0;
  /// Events the OTLP destination left out of their span (the span itself is still sent): the
  /// span events held for spans still open are bounded (64 MiB of OTLP JSON over all sessions),
  /// and an event past the bound, or one that ran out of memory, is counted here. The transport
  /// beside it still has every event.
  std::uint64_t otlp_span_events_dropped = 0;
  std::uint64_t queue_depth = 0;           ///< waiting for the worker now
  std::string circuit_state = "closed";    ///< "closed", "open" or "half_open" (HTTP only)
  std::string transport;                   ///< the transport in use: "http", "spool", "http+otlp", ...

  std::uint64_t dropped_total() const noexcept {
    return dropped_queue_full + dropped_after_end + dropped_invalid + dropped_io_error +
           dropped_shutdown + dropped_duplicate;
  }
};

class PROMPTETHEUS_API Client {
 public:
  /// Builds the pipeline and starts its worker thread. Never throws: on a configuration problem
  /// the client falls back (e.g. to the spool) and status() says why; on a fatal one it is inert.
  explicit Client(Options options = Options{}) noexcept;
  /// Shuts down within options.shutdown_timeout, then releases the worker thread, the transport
  /// and its connections (Sessions that outlive the client become no-ops). Never throws.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// How construction went. Thread-safe.
  Status status() const noexcept;

  /// Waits until every event enqueued before the call has been written, spooled or dropped, or
  /// until `timeout` passes. Returns true when everything was handled. Thread-safe; blocks at
  /// most `timeout`. A no-op returning true after shutdown.
  bool flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) noexcept;

  /// Stops accepting events, drains the queue to the transport and stops the worker, returning
  /// within `timeout` (in-flight network transfers are aborted then, and what is left is written
  /// to the spool, or counted in dropped_shutdown once the time is up). Returns true when
  /// everything was handled in time. Idempotent and thread-safe: a later call returns at once
  /// with the first call's result (false while the first is still running).
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) noexcept;

  /// Counters. Thread-safe, lock-free, never blocks.
  Stats stats() const noexcept;

  /// The options in force (after fallbacks). Thread-safe (immutable after construction).
  const Options& options() const noexcept;


 private:
  friend struct detail::ClientAccess;
  std::shared_ptr<detail::Pipeline> pipeline_;
  std::shared_ptr<const Status> status_;
};

/// Starts (or restarts) the process-wide default client. A previous default client is shut down
/// first (within its shutdown_timeout), before the new one starts: two default clients never
/// run at once, and events recorded meanwhile are dropped (sessions of the old client become
/// no-ops). Registers a std::atexit hook (once) that shuts it down within shutdown_timeout when
/// options.flush_at_exit is set. Never throws; see Status for fallbacks. Thread-safe.
PROMPTETHEUS_API Status init(Options options = Options::from_env()) noexcept;

/// Shuts the default client down (see Client::shutdown). Later calls are no-ops. Thread-safe.
PROMPTETHEUS_API bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) noexcept;

/// Flushes the default client (see Client::flush); true when there is none. Thread-safe.
PROMPTETHEUS_API bool flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) noexcept;

/// Counters of the default client (all zero when there is none). Thread-safe.
PROMPTETHEUS_API Stats stats() noexcept;

/// The version of the library the program runs with, e.g. "0.1.0". It can differ from
/// PROMPTETHEUS_VERSION_STRING (the headers compiled against) when a shared library is swapped.
PROMPTETHEUS_API const char* version() noexcept;

/// Calls shutdown() when it goes out of scope: put one at the top of main().
class PROMPTETHEUS_API ShutdownGuard {
 public:
  ShutdownGuard() = default;
  ~ShutdownGuard() { (void)promptetheus::shutdown(); }
  ShutdownGuard(const ShutdownGuard&) = delete;
  ShutdownGuard& operator=(const ShutdownGuard&) = delete;
};

PROMPTETHEUS_END_NAMESPACE
