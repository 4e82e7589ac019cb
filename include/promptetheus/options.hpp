// Options: the configuration of a Client. A plain aggregate; start from defaults or from_env(),
// then assign fields in code (code > environment > ~/.promptetheus/config.toml > defaults).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/export.hpp"
#include "promptetheus/policy.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

class Transport;

/// Where events go.
enum class TransportMode {
  automatic,  ///< http when an API key is set, spool otherwise
  http,       ///< the Promptetheus HTTP API, with the spool as retry queue
  spool,      ///< JSONL files in spool_dir only
  otlp,       ///< the spool as the record, and OpenTelemetry spans to otlp_endpoint
  memory,     ///< kept in memory (tests; see promptetheus/testing.hpp)
  off,        ///< nothing is recorded
};

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Parses "auto", "http", "spool", "otlp", "memory", "off" (or "none"). Returns false for anything else.
PROMPTETHEUS_API bool parse_transport_mode(std::string_view text, TransportMode& out) noexcept;
PROMPTETHEUS_API const char* to_string(TransportMode mode) noexcept;

struct PROMPTETHEUS_API Options {
  // Connection                                                     environment variable
  std::string api_url = "http://127.0.0.1:4318";                    // PROMPTETHEUS_API_URL
  std::string api_key;                                              // PROMPTETHEUS_API_KEY
  std::string project_id;                                           // PROMPTETHEUS_PROJECT
  std::string environment;                                          // PROMPTETHEUS_ENVIRONMENT
  std::chrono::milliseconds http_timeout{30000};                    // PROMPTETHEUS_HTTP_TIMEOUT (seconds)
  TransportMode transport = TransportMode::automatic;              // PROMPTETHEUS_TRANSPORT
  std::string spool_dir = ".promptetheus/spool";                    // PROMPTETHEUS_SPOOL_DIR
  /// OpenTelemetry (docs/opentelemetry.md): when set, every span is also sent as OTLP/HTTP JSON
  /// to this endpoint, beside the transport (both get every event, neither waits for the other),
  /// each span as it ends. A base URL gets /v1/traces. Required by transport=otlp.
  std::string otlp_endpoint;                                        // PROMPTETHEUS_OTLP_ENDPOINT
  /// Extra headers of the OTLP requests, as OTEL_EXPORTER_OTLP_HEADERS: "k=v,k=v", values
  /// percent-encoded.                                                PROMPTETHEUS_OTLP_HEADERS
  std::string otlp_headers;
  /// Resource attributes of the spans, the same "k=v,k=v" form. service.name defaults to the
  /// session's agent name.                                  PROMPTETHEUS_OTLP_RESOURCE_ATTRIBUTES
  std::string otlp_resource_attributes;
  /// Screenshots and recordings are kept here, under <artifact_dir>/<session>/<artifact_id>/.
  std::string artifact_dir = ".promptetheus/artifacts";

  // Privacy and volume policy (docs/policy.md), applied on the worker thread before any byte of
  // an event is written or sent: to the spool, the network, dead-letter files, the overflow
  // spill and the replay of older spool files.
  /// Head sampling: the share of sessions recorded, decided per session id (policy::head_sampled).
  /// A session not sampled is a no-op handle. Clamped to [0,1]. Under tail_sample it is the
  /// keep rate of boring sessions instead (unless tail_policy sets one). PROMPTETHEUS_SAMPLE_RATE
  double sample_rate = 1.0;
  /// Per-type sampling: keep rates by event type (policy::type_sampled); session_end, error,
  /// goal_check and state_change are always kept.                    PROMPTETHEUS_EVENT_SAMPLE_RATES
  std::map<std::string, double> event_sample_rates;                //   ("tool_call=0.5,metric=0.1")
  /// Tail sampling (contract §7.5): a session's events are held on the worker until its
  /// session_end, then sent whole when the session is interesting (error, failed goal or end,
  /// retry loop, slow span or session) or, if boring, at tail_policy.boring_success_keep_rate
  /// (else sample_rate); otherwise dropped (Stats::tail_dropped). Head sampling then does not
  /// apply at session start: every session is held and decided at its end.  PROMPTETHEUS_TAIL_SAMPLE=1
  bool tail_sample = false;
  policy::TailPolicy tail_policy;
  /// Bounds of what tail sampling holds: a session past either per-session bound, or the oldest
  /// session when all held events pass tail_max_bytes, is decided early as kept.
  std::size_t tail_max_session_events = 10000;
  std::size_t tail_max_session_bytes = 8u << 20;
  std::size_t tail_max_bytes = 64u << 20;
  /// "default": the default redactor (policy::redact) with redact_options; "hash": the same with
  /// hash_values; empty, "off" or "none": no redaction. Any other value redacts nothing and
  /// warns (as the reference ignores unknown names).                PROMPTETHEUS_REDACT
  std::string redact;
  /// Options of the default redactor.                               [promptetheus.redact] in config.toml
  policy::RedactOptions redact_options;
  /// A redactor of the caller's own, used instead of the default one (call policy::redact inside
  /// it to combine them). Called on the worker thread (or a caller thread that spills), one event
  /// at a time, with the event envelope; returns it scrubbed. It must not call back into the SDK.
  /// The envelope's type, session_id, seq, timestamp and idempotency_key are kept from the input
  /// whatever it returns.
  std::function<nlohmann::json(nlohmann::json)> redactor;
  /// When a redactor fails (throws, returns something that is not an object, or a pattern hits
  /// its match limit): false records the skeleton (payload {"redaction_failed": true}, no
  /// metadata); true records the event unredacted. Either way Stats::redaction_failed counts it.
  bool redact_fail_open = false;

  /// Prices by model, replacing the default table (policy::resolve_price) for the cost of a
  /// session (SessionHandle::cost()) and for the CLI and console's estimates. Unset: the default
  /// table. PROMPTETHEUS_PRICES / config.toml `prices`: "model=input_per_1k:output_per_1k,..." (USD).
  std::optional<std::map<std::string, policy::Price>> prices;

  /// Payload limits (off by default: the reference has none, contract §1.4). Strings of an
  /// event's payload and metadata longer than max_string_bytes are cut, at a character boundary,
  /// and end with "…[truncated N bytes]" (the payload fields that identify, name, call_id,
  /// artifact_id and storage_path, are never cut); an event whose line is longer than
  /// max_event_bytes has its strings cut shorter until it fits, else its payload replaced by
  /// {"truncated": true, "original_bytes": N} and its metadata dropped. Applied after
  /// redaction; counted in Stats::truncated. 0 = no limit.
  std::size_t max_string_bytes = 0;
  std::size_t max_event_bytes = 0;

  // Pipeline
  std::size_t max_queue_events = 100000;        ///< events waiting for the worker
  std::size_t max_queue_bytes = 64u << 20;      ///< approximate bytes waiting for the worker
  bool overflow_to_spool = true;                ///< queue full: append to the spool (else drop)
  std::size_t batch_size = 50;                  ///< events per HTTP request
  std::size_t max_batch_bytes = 5u << 20;       ///< bytes per HTTP request body (before gzip)
  /// The worker wakes at least this often (and early, every max(batch_size, 1024) queued events);
  /// the spool is written within this interval.
  std::chrono::milliseconds flush_interval{200};
  int max_retries = 5;
  std::size_t compress_min_bytes = 1024;        ///< gzip bodies at or above this size; 0 = never
  int circuit_failure_threshold = 5;
  std::chrono::milliseconds circuit_reset{30000};
  std::uint64_t spool_max_bytes = 256ull << 20; ///< 0 = unbounded; dead-letter files never pruned

  // Lifecycle
  std::chrono::milliseconds shutdown_timeout{2000};  ///< bound of shutdown() and the exit hook
  bool flush_at_exit = true;  ///< register a bounded shutdown with std::atexit and std::at_quick_exit
  bool flush_on_session_end = false;                 ///< Session end waits for its events
  std::chrono::milliseconds session_end_flush_timeout{2000};

  // Diagnostics
  LogLevel log_level = LogLevel::warn;               // PROMPTETHEUS_DEBUG=1 -> debug
  /// Receives the SDK's diagnostics instead of stderr. Called from any thread, under a lock:
  /// it must not call back into the SDK.
  std::function<void(LogLevel, std::string_view)> log_handler;

  /// Makes a destination of the caller's own; when set it replaces the transport chosen by
  /// `transport`. The client calls it once when it starts (and once more in a forked child that
  /// records) and owns what it returns exclusively: the transport is used by one worker thread
  /// at a time and destroyed when the client shuts down. Returning null, or throwing, leaves the
  /// client falling back to the spool with a non-ok status.
  std::function<std::unique_ptr<Transport>()> transport_factory;

  /// Problems found while reading the environment and config file (also logged as warnings).
  std::vector<std::string> warnings;

  /// Defaults, overlaid with ~/.promptetheus/config.toml (top level, or the [promptetheus] table
  /// when present), overlaid with every PROMPTETHEUS_* variable that is set and non-empty.
  /// Assign fields after calling it so that code wins. Unparsable values warn and fall back:
  /// sample_rate -> 1.0, http_timeout -> 30 s, transport -> auto. A missing or malformed file
  /// counts as no file. Never throws; reads the environment, so call it before starting threads
  /// that call setenv.
  static Options from_env() noexcept;
};

PROMPTETHEUS_END_NAMESPACE
