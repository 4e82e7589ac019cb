// The dev server's storage: traces, events and artifact rows in one SQLite database (WAL mode).
// Events are deduplicated by a UNIQUE (session_id, idempotency_key) index, and their primary key
// (session_id, seq) turns a second event with the same seq into a conflict (and keeps reads
// sorted by seq without a sort). The spans of an OTLP trace no agent session claimed are stored
// one row per span instead (otel_spans, dev/otlp_span_record.hpp), deduplicated by their span
// id, and their events are given seqs when the session is read. One connection serialised by a
// mutex: SQLite allows one writer at a time anyway, and request parsing happens outside the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace promptetheus::devserver {

/// An event ready to store: its envelope already validated and rewritten for this trace.
struct StoredEvent {
  std::string idempotency_key;
  std::int64_t seq = 0;
  std::string json;  // the whole event, compact
  /// The event itself when it changes its session's record (dev/session_record.hpp).
  std::optional<nlohmann::json> record_change;
  /// The span id when the event starts an agent span ("span_<32 hex>"; other forms are not
  /// indexed): indexed by its OTel id so that OTLP spans of the session's trace find their parent.
  std::string agent_span_id = {};
};

enum class EventOutcome { stored, duplicate, seq_conflict };

/// An event whose seq the store chooses: the first free one from `preferred_seq` on (see
/// add_events_at_free_seq).
struct UnnumberedEvent {
  std::string idempotency_key;
  std::int64_t preferred_seq = 0;
  /// The whole envelope as canonical JSON text, split around the seq's value: `head` ends with
  /// `"seq":` and `tail` holds the rest.
  std::string head;
  std::string tail;
  /// When set: the event's parent_id is "span_<this>", an OTel id of a span that may be an agent
  /// span not stored yet; resolve_otel_parents rewrites it when that span arrives.
  std::string pending_parent_hex;
  /// When set: the OTel id (16 hex) of the span this event starts, in an agent session. Events
  /// waiting for that id as a pending parent stop waiting: their parent is this OTel span.
  std::string settles_pending_hex;
};

/// The UnnumberedEvent of envelope `event` (an object; a "seq" member in it is replaced).
UnnumberedEvent unnumbered_event(std::string idempotency_key, std::int64_t preferred_seq,
                                 const nlohmann::json& event, std::string pending_parent_hex);

/// An OTLP span to store in its trace's own `otel_<trace>` session (DevStore::upsert_trace_with_spans).
struct OtlpSpanRow {
  std::string span_hex;  // the OTel span id, 16 hex
  std::string record;    // encode_otlp_span_record
  /// The idempotency key its span_start had when spans were stored as events: a session that
  /// holds such events (written by an earlier version) has this span when it holds that key.
  std::string start_key;
};

/// The agent session that recorded a W3C trace as its own (dev/otlp_receiver.hpp).
struct OtelTraceClaim {
  std::string session_id;
  std::string root_span_hex;  // the session's root span in that trace (16 hex)
};

class DevStore {
 public:
  /// Opens (creating if needed) the database. Throws std::runtime_error with the SQLite message.
  explicit DevStore(const std::string& path);
  ~DevStore();
  DevStore(const DevStore&) = delete;
  DevStore& operator=(const DevStore&) = delete;

  /// Creates or overwrites a trace row (its events are kept). `trace` must be an object; when
  /// it has no "id", a fresh `sess_<n>` is minted. Returns the stored row, id included.
  nlohmann::json put_trace(nlohmann::json trace);
  std::optional<nlohmann::json> trace(const std::string& id);
  /// Whether a trace row exists (cheaper than trace(): its body is not parsed).
  bool has_trace(const std::string& id);
  /// All traces, most recently created first.
  std::vector<nlohmann::json> traces();

  /// Stores a batch in one transaction, and applies the events stored now (not duplicates)
  /// that carry a record_change to the trace row, in order. Returns nothing when the trace
  /// does not exist.
  std::optional<std::vector<EventOutcome>> add_events(const std::string& trace_id,
                                                      const std::vector<StoredEvent>& events);
  /// Stores events in one transaction, in the order given, each at the first seq that is at
  /// least its preferred_seq, above the seq given to the event before it in this call, and free
  /// in the trace (up to 1024 seqs on; beyond, a seq_conflict). An event whose key is stored is a
  /// duplicate. Nothing when the trace does not exist.
  std::optional<std::vector<EventOutcome>> add_events_at_free_seq(const std::string& trace_id,
                                                                  std::vector<UnnumberedEvent> events);
  /// Creates the trace row `initial` (an object with an "id") when there is none, else applies
  /// `update` to the stored row; in one transaction, so concurrent callers never lose a change.
  void upsert_trace(const nlohmann::json& initial, const std::function<void(nlohmann::json&)>& update);
  /// upsert_trace(initial, update), then stores the spans in trace initial["id"], in one
  /// transaction: the trace row and its spans are committed together. One outcome per span:
  /// stored, or duplicate when the trace already has a span with its id. A span's events get
  /// their seqs when the trace is read (events()): each the first seq from its time on that no
  /// event of the trace stored as an event, nor of a span stored before it, has (and above the
  /// seq of the span's event before it, in time order), so the seqs a read gives do not change
  /// as more spans arrive. (An event posted to the trace through add_events is stored as an
  /// event: it takes its seq first, and a span's event that had it moves to the next free one.)
  std::vector<EventOutcome> upsert_trace_with_spans(const nlohmann::json& initial,
                                                    const std::function<void(nlohmann::json&)>& update,
                                                    const std::vector<OtlpSpanRow>& spans);
  /// The agent spans of a trace among the given OTel span ids (16 hex): OTel id → "span_<32 hex>"
  /// (the first span_start of an OTel id wins). The first call for a trace reads its span_start
  /// events once; later calls look up an index in memory that add_events keeps current (from
  /// StoredEvent::agent_span_id), for the kAgentSpanCacheSessions traces used last.
  std::unordered_map<std::string, std::string> agent_spans(const std::string& trace_id,
                                                           const std::vector<std::string>& otel_span_hexes);
  /// Those of `keys` that events of the trace are stored under (one indexed lookup each).
  std::vector<std::string> stored_event_keys(const std::string& trace_id, const std::vector<std::string>& keys);
  /// Points the events stored with a pending parent that `agent_span_id` ("span_<32 hex>")
  /// starts with (its OTel id) at that span. Returns how many were changed.
  std::size_t resolve_otel_parents(const std::string& trace_id, const std::string& agent_span_id);
  /// Moves every event of trace `from` (an `otel_<trace>` session) into trace `to` (the agent
  /// session that claimed that trace), in one transaction: a parent that is `to`'s root span
  /// becomes none, one that is an agent span of `to` that span, and the rest wait as pending
  /// parents; then deletes `from`. False when `from` does not exist.
  bool adopt_otel_session(const std::string& from, const std::string& to, const std::string& root_span_hex);

  /// Records that `claim.session_id` holds W3C trace `trace_id`; the first claim of a trace wins.
  void claim_otel_trace(const std::string& trace_id, const OtelTraceClaim& claim);
  std::optional<OtelTraceClaim> otel_trace_claim(const std::string& trace_id);

  /// The events of a trace as stored JSON texts (those of its spans in otel_spans written out),
  /// sorted by seq; nothing when the trace is unknown. Throws std::runtime_error when a span row
  /// cannot be read.
  std::optional<std::vector<std::string>> events(const std::string& trace_id);

  /// Records an artifact row. When `artifact["artifact_id"]` is absent a fresh `artifact_<n>` is
  /// minted. Returns the artifact id.
  std::string put_artifact(nlohmann::json artifact);
  /// The artifact row of a trace; nothing when there is none.
  std::optional<nlohmann::json> artifact(const std::string& session_id, const std::string& artifact_id);
  void delete_artifact(const std::string& session_id, const std::string& artifact_id);

 private:
  class Statement;
  void close() noexcept;
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  bool trace_exists_locked(const std::string& id);
  /// What events() returns, for a trace that exists.
  std::vector<std::string> event_texts_locked(const std::string& trace_id);
  /// Whether an event of the trace is stored under this idempotency key (one indexed lookup).
  bool event_key_stored_locked(const std::string& trace_id, const std::string& idempotency_key);
  std::unordered_map<std::string, std::string> agent_spans_locked(const std::string& trace_id,
                                                                  const std::vector<std::string>& otel_span_hexes);
  /// Adds a stored agent span to the trace's cached agent spans, if they are cached.
  void note_agent_span_locked(const std::string& trace_id, const std::string& agent_span_id);
  /// Returns the trace id (initial["id"]).
  const std::string& upsert_trace_locked(const nlohmann::json& initial,
                                         const std::function<void(nlohmann::json&)>& update);
  EventOutcome insert_at_free_seq_locked(const std::string& trace_id, UnnumberedEvent& event,
                                         std::int64_t& previous);
  /// add_events_at_free_seq's inserts, inside the caller's transaction.
  std::vector<EventOutcome> insert_all_at_free_seq_locked(const std::string& trace_id,
                                                          std::vector<UnnumberedEvent>& events);

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* find_event_key_ = nullptr;
  sqlite3_stmt* trace_exists_ = nullptr;
  sqlite3_stmt* select_events_ = nullptr;
  sqlite3_stmt* select_otel_claim_ = nullptr;  // asked for each trace of each OTLP request
  sqlite3_stmt* insert_span_ = nullptr;
  sqlite3_stmt* select_spans_ = nullptr;
  /// The agent spans of the traces OTLP spans joined last (agent_spans), so that a request into a
  /// long session does not read all its events again. About 150 bytes per agent span.
  struct AgentSpans {
    std::unordered_map<std::string, std::string> by_otel_id;
    std::uint64_t last_used = 0;
  };
  static constexpr std::size_t kAgentSpanCacheSessions = 8;
  std::unordered_map<std::string, AgentSpans> agent_span_cache_;
  std::uint64_t agent_span_clock_ = 0;
};

}  // namespace promptetheus::devserver
