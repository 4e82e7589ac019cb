// The dev server's storage: traces, events and artifact rows in one SQLite database (WAL mode).
// Events are deduplicated by a UNIQUE (session_id, idempotency_key) index, and their primary key
// (session_id, seq) turns a second event with the same seq into a conflict (and keeps reads
// sorted by seq without a sort). One connection
// serialised by a mutex: SQLite allows one writer at a time anyway, and request parsing happens
// outside the lock.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
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
};

enum class EventOutcome { stored, duplicate, seq_conflict };

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
  /// The events of a trace as stored JSON texts, sorted by seq; nothing when the trace is unknown.
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

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* find_event_key_ = nullptr;
  sqlite3_stmt* trace_exists_ = nullptr;
  sqlite3_stmt* select_events_ = nullptr;
};

}  // namespace promptetheus::devserver
