#include "dev/dev_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <sqlite3.h>

#include "core/json_writer.hpp"
#include "dev/otlp_span_record.hpp"
#include "dev/session_record.hpp"

namespace promptetheus::devserver {

using nlohmann::json;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS traces (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_key ON events(session_id, idempotency_key);
CREATE TABLE IF NOT EXISTS artifacts (
  session_id TEXT NOT NULL,
  artifact_id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (session_id, artifact_id)
);
CREATE TABLE IF NOT EXISTS otel_traces (
  trace_id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  root_span_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS otel_pending_parents (
  session_id TEXT NOT NULL,
  parent_span_hex TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (session_id, parent_span_hex, seq)
) WITHOUT ROWID;
-- One row per span of an OTLP trace in its own otel_<trace> session (dev/otlp_span_record.hpp).
-- A rowid table: rowids rise in the order spans arrive, which the seqs of their events follow.
CREATE TABLE IF NOT EXISTS otel_spans (
  session_id TEXT NOT NULL,
  span_hex TEXT NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (session_id, span_hex)
);
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql";

// The OTel span id of an agent span id "span_<32 hex>" (its first 16 hex digits, as the SDK's
// trace context gives it); empty for any other form.
std::string otel_id_of_agent_span(const std::string& span_id) {
  return span_id.size() == 5 + 32 && span_id.rfind("span_", 0) == 0 ? span_id.substr(5, 16) : std::string();
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

// A prepared statement with bound parameters that resets itself when it goes out of scope, so a
// cached statement is always reusable and a one-off statement is always finalised.
class DevStore::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* cached) : db_(db), stmt_(cached), owned_(false) {}
  Statement(sqlite3* db, const char* sql) : db_(db), owned_(true) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() {
    if (owned_) {
      sqlite3_finalize(stmt_);
    } else {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  /// SQLITE_ROW, SQLITE_DONE or SQLITE_CONSTRAINT; any other result throws.
  int step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE || rc == SQLITE_CONSTRAINT) return rc;
    throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errmsg(db_));
  }
  std::string text(int column) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool owned_;
};

UnnumberedEvent unnumbered_event(std::string idempotency_key, std::int64_t preferred_seq, const json& event,
                                 std::string pending_parent_hex) {
  UnnumberedEvent out;
  out.idempotency_key = std::move(idempotency_key);
  out.preferred_seq = preferred_seq;
  out.pending_parent_hex = std::move(pending_parent_hex);
  // Members in canonical (sorted) order, as write_json writes them: those before "seq" into the
  // head, those after it into the tail.
  out.head = "{";
  for (auto it = event.begin(); it != event.end(); ++it) {
    if (it.key() == "seq") continue;
    std::string& part = it.key() < "seq" ? out.head : out.tail;
    if (&part == &out.tail || part.size() > 1) part += ',';
    detail::write_json_string(part, it.key());
    part += ':';
    detail::write_json(part, it.value());
  }
  out.head += out.head.size() > 1 ? ",\"seq\":" : "\"seq\":";
  out.tail += '}';
  return out;
}

DevStore::DevStore(const std::string& path) {
  // Created private (0600) like the SDK's spool: it holds every recorded prompt and tool call.
  // SQLite gives its journal and WAL files the database file's mode. An existing file keeps its.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  // NOMUTEX: every use of the connection already holds mutex_, so SQLite's own per-call locking
  // would only add cost.
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open database " + path + ": " + message);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    // 16 KiB pages (SQLite's default is 4 KiB) for a new database: fewer, larger WAL frames per
    // commit, which stored OTLP spans ~20 % faster; an existing database keeps its page size.
    exec("PRAGMA page_size=16384");
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");  // WAL: no fsync per commit, still crash-consistent
    exec("PRAGMA cache_size=-65536");    // 64 MiB page cache
    exec("PRAGMA temp_store=MEMORY");
    // Checkpoint every 8192 pages of WAL (128 MiB at 16 KiB pages, 32 MiB in a database created
    // with 4 KiB pages) instead of every 1000: a page rewritten by many batches is copied to the
    // database file once; the WAL is truncated back to 64 MiB afterwards.
    exec("PRAGMA wal_autocheckpoint=8192");
    exec("PRAGMA journal_size_limit=67108864");
    exec(kSchema);
    insert_event_ = prepare(
        "INSERT INTO events(session_id, seq, idempotency_key, body) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(session_id, idempotency_key) DO NOTHING");
    find_event_key_ =
        prepare("SELECT 1 FROM events WHERE session_id = ?1 AND idempotency_key = ?2");
    trace_exists_ = prepare("SELECT 1 FROM traces WHERE id = ?1");
    select_events_ = prepare("SELECT seq, body FROM events WHERE session_id = ?1 ORDER BY seq");
    select_otel_claim_ = prepare("SELECT session_id, root_span_id FROM otel_traces WHERE trace_id = ?1");
    insert_span_ = prepare(
        "INSERT INTO otel_spans(session_id, span_hex, record) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(session_id, span_hex) DO NOTHING");
    select_spans_ = prepare("SELECT record FROM otel_spans WHERE session_id = ?1 ORDER BY rowid");
  } catch (...) {
    close();
    throw;
  }
}

DevStore::~DevStore() { close(); }

void DevStore::close() noexcept {
  for (sqlite3_stmt* stmt : {insert_event_, find_event_key_, trace_exists_, select_events_, select_otel_claim_,
                             insert_span_, select_spans_}) {
    sqlite3_finalize(stmt);
  }
  insert_event_ = find_event_key_ = trace_exists_ = select_events_ = select_otel_claim_ = nullptr;
  insert_span_ = select_spans_ = nullptr;
  sqlite3_close(db_);
  db_ = nullptr;
}

void DevStore::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw std::runtime_error("sqlite: " + message);
  }
}

sqlite3_stmt* DevStore::prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
  }
  return stmt;
}

bool DevStore::event_key_stored_locked(const std::string& trace_id, const std::string& idempotency_key) {
  return Statement(db_, find_event_key_).bind(1, trace_id).bind(2, idempotency_key).step() == SQLITE_ROW;
}

bool DevStore::trace_exists_locked(const std::string& id) {
  return Statement(db_, trace_exists_).bind(1, id).step() == SQLITE_ROW;
}

// Transactions roll back on any exception, so a failed batch leaves nothing half-stored.
namespace {
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    run("COMMIT");
    committed_ = true;
  }

 private:
  void run(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
  }
  sqlite3* db_;
  bool committed_ = false;
};

// The next unused "<prefix><n>" according to a persistent counter; `taken` says whether an id is
// already used (by a row created with an explicit id).
template <typename Taken>
std::string mint_id(sqlite3* db, const char* counter, const std::string& prefix, Taken taken) {
  std::int64_t n = 0;
  {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT value FROM counters WHERE name = ?1", -1, &stmt, nullptr);
    sqlite3_bind_text(stmt, 1, counter, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  std::string id;
  do {
    id = prefix + std::to_string(++n);
  } while (taken(id));
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO counters(name, value) VALUES(?1, ?2) "
                     "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                     -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, counter, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 2, n);
  const int rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
  return id;
}
}  // namespace

json DevStore::put_trace(json trace) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  if (!trace.contains("id")) {
    trace["id"] = mint_id(db_, "trace", "sess_", [&](const std::string& id) {
      return trace_exists_locked(id);
    });
  }
  const std::string id = trace.at("id").get<std::string>();
  Statement(db_,
            "INSERT INTO traces(id, body) VALUES(?1, ?2) "
            "ON CONFLICT(id) DO UPDATE SET body = excluded.body")
      .bind(1, id)
      .bind(2, dump(trace))
      .step();
  tx.commit();
  return trace;
}

std::optional<json> DevStore::trace(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(db_, "SELECT body FROM traces WHERE id = ?1");
  if (select.bind(1, id).step() != SQLITE_ROW) return std::nullopt;
  return json::parse(select.text(0));
}

bool DevStore::has_trace(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return trace_exists_locked(id);
}

std::vector<json> DevStore::traces() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<json> rows;
  Statement select(db_, "SELECT body FROM traces ORDER BY rowid DESC");
  while (select.step() == SQLITE_ROW) rows.push_back(json::parse(select.text(0)));
  return rows;
}

std::optional<std::vector<EventOutcome>> DevStore::add_events(
    const std::string& trace_id, const std::vector<StoredEvent>& events) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  if (!trace_exists_locked(trace_id)) return std::nullopt;
  std::vector<EventOutcome> outcomes;
  outcomes.reserve(events.size());
  for (const StoredEvent& event : events) {
    Statement insert(db_, insert_event_);
    const int rc = insert.bind(1, trace_id)
                       .bind(2, event.seq)
                       .bind(3, event.idempotency_key)
                       .bind(4, event.json)
                       .step();
    if (rc == SQLITE_DONE) {
      const bool stored = sqlite3_changes(db_) == 1;
      outcomes.push_back(stored ? EventOutcome::stored : EventOutcome::duplicate);
      continue;
    }
    // The seq index refused the row. A stored event with the same key still makes this a
    // duplicate (the key is checked first, as in the reference store); otherwise it conflicts.
    outcomes.push_back(event_key_stored_locked(trace_id, event.idempotency_key) ? EventOutcome::duplicate
                                                                                 : EventOutcome::seq_conflict);
  }
  std::optional<json> trace;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (outcomes[i] != EventOutcome::stored || !events[i].record_change) continue;
    if (!trace) {
      Statement select(db_, "SELECT body FROM traces WHERE id = ?1");
      if (select.bind(1, trace_id).step() != SQLITE_ROW) break;
      trace = json::parse(select.text(0));
    }
    apply_to_session_record(*trace, *events[i].record_change);
  }
  if (trace) {
    Statement(db_, "UPDATE traces SET body = ?2 WHERE id = ?1").bind(1, trace_id).bind(2, dump(*trace)).step();
  }
  tx.commit();
  // Only once committed: a batch rolled back must not leave its spans in the cached index.
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (outcomes[i] == EventOutcome::stored) note_agent_span_locked(trace_id, events[i].agent_span_id);
  }
  return outcomes;
}

// The first seq from the event's preferred one (and above `previous`) that is free in the trace;
// the event's key already stored makes it a duplicate. A stored event with a pending parent
// records it.
EventOutcome DevStore::insert_at_free_seq_locked(const std::string& trace_id, UnnumberedEvent& event,
                                                 std::int64_t& previous) {
  constexpr std::int64_t kMaxProbes = 1024;
  std::int64_t seq = std::max(event.preferred_seq, previous + 1);
  std::string text;
  for (std::int64_t probe = 0; probe < kMaxProbes; ++probe, ++seq) {
    text.clear();
    text += event.head;
    text += std::to_string(seq);
    text += event.tail;
    Statement insert(db_, insert_event_);
    const int rc = insert.bind(1, trace_id).bind(2, seq).bind(3, event.idempotency_key).bind(4, text).step();
    if (rc == SQLITE_DONE) {
      if (sqlite3_changes(db_) != 1) return EventOutcome::duplicate;
      previous = seq;
      if (!event.settles_pending_hex.empty()) {
        Statement(db_, "DELETE FROM otel_pending_parents WHERE session_id = ?1 AND parent_span_hex = ?2")
            .bind(1, trace_id)
            .bind(2, event.settles_pending_hex)
            .step();
      }
      if (!event.pending_parent_hex.empty()) {
        Statement(db_,
                  "INSERT OR IGNORE INTO otel_pending_parents(session_id, parent_span_hex, seq) VALUES(?1, ?2, ?3)")
            .bind(1, trace_id)
            .bind(2, event.pending_parent_hex)
            .bind(3, seq)
            .step();
      }
      return EventOutcome::stored;
    }
    if (event_key_stored_locked(trace_id, event.idempotency_key)) return EventOutcome::duplicate;
  }
  return EventOutcome::seq_conflict;
}

std::optional<std::vector<EventOutcome>> DevStore::add_events_at_free_seq(
    const std::string& trace_id, std::vector<UnnumberedEvent> events) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  if (!trace_exists_locked(trace_id)) return std::nullopt;
  std::vector<EventOutcome> outcomes = insert_all_at_free_seq_locked(trace_id, events);
  tx.commit();
  return outcomes;
}

std::vector<EventOutcome> DevStore::insert_all_at_free_seq_locked(const std::string& trace_id,
                                                                  std::vector<UnnumberedEvent>& events) {
  std::vector<EventOutcome> outcomes;
  outcomes.reserve(events.size());
  std::int64_t previous = -1;
  for (UnnumberedEvent& event : events) outcomes.push_back(insert_at_free_seq_locked(trace_id, event, previous));
  return outcomes;
}

std::vector<std::string> DevStore::stored_event_keys(const std::string& trace_id,
                                                     const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> stored;
  for (const std::string& key : keys) {
    if (event_key_stored_locked(trace_id, key)) stored.push_back(key);
  }
  return stored;
}

std::size_t DevStore::resolve_otel_parents(const std::string& trace_id, const std::string& agent_span_id) {
  const std::string otel_id = otel_id_of_agent_span(agent_span_id);
  if (otel_id.empty()) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::int64_t> seqs;
  {
    Statement select(db_, "SELECT seq FROM otel_pending_parents WHERE session_id = ?1 AND parent_span_hex = ?2");
    select.bind(1, trace_id).bind(2, otel_id);
    while (select.step() == SQLITE_ROW) seqs.push_back(select.integer(0));
  }
  if (seqs.empty()) return 0;
  Transaction tx(db_);
  std::string text;
  for (std::int64_t seq : seqs) {
    Statement select(db_, "SELECT body FROM events WHERE session_id = ?1 AND seq = ?2");
    if (select.bind(1, trace_id).bind(2, seq).step() != SQLITE_ROW) continue;
    json event = json::parse(select.text(0));
    event["parent_id"] = agent_span_id;
    text.clear();
    detail::write_json(text, event);
    Statement(db_, "UPDATE events SET body = ?3 WHERE session_id = ?1 AND seq = ?2")
        .bind(1, trace_id)
        .bind(2, seq)
        .bind(3, text)
        .step();
  }
  Statement(db_, "DELETE FROM otel_pending_parents WHERE session_id = ?1 AND parent_span_hex = ?2")
      .bind(1, trace_id)
      .bind(2, otel_id)
      .step();
  tx.commit();
  return seqs.size();
}

bool DevStore::adopt_otel_session(const std::string& from, const std::string& to, const std::string& root_span_hex) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  if (!trace_exists_locked(from) || !trace_exists_locked(to)) return false;
  std::vector<json> events;
  for (const std::string& text : event_texts_locked(from)) events.push_back(json::parse(text));
  // The OTel id of an event's span or parent ("span_<16 hex>"); empty for another form.
  const auto otel_id_of = [](const json& event, const char* member) {
    auto id = event.find(member);
    if (id == event.end() || !id->is_string()) return std::string();
    const std::string& text = id->get_ref<const std::string&>();
    return text.size() == 5 + 16 && text.rfind("span_", 0) == 0 ? text.substr(5) : std::string();
  };
  // A parent among the moved spans is known; one that is not may be an agent span of `to`, stored
  // or still to come.
  std::unordered_set<std::string> moved_spans;
  for (const json& event : events) moved_spans.insert(otel_id_of(event, "span_id"));
  std::vector<std::string> parent_hexes;
  for (const json& event : events) {
    std::string hex = otel_id_of(event, "parent_id");
    if (!hex.empty() && hex != root_span_hex && moved_spans.count(hex) == 0) parent_hexes.push_back(std::move(hex));
  }
  const std::unordered_map<std::string, std::string> agent_spans = agent_spans_locked(to, parent_hexes);
  std::vector<UnnumberedEvent> moved;
  for (json& event : events) {
    std::string pending_parent_hex;
    const std::string otel_id = otel_id_of(event, "parent_id");
    if (!otel_id.empty() && otel_id == root_span_hex) {
      event["parent_id"] = nullptr;
    } else if (auto agent = agent_spans.find(otel_id); !otel_id.empty() && agent != agent_spans.end()) {
      event["parent_id"] = agent->second;
    } else if (!otel_id.empty() && moved_spans.count(otel_id) == 0) {
      pending_parent_hex = otel_id;
    }
    event["session_id"] = to;
    moved.push_back(unnumbered_event(event.value("idempotency_key", ""), event.value("seq", std::int64_t{0}), event,
                                     std::move(pending_parent_hex)));
    const auto payload = event.find("payload");
    if (payload != event.end() && payload->is_object() && payload->value("name", "") == "span_start") {
      moved.back().settles_pending_hex = otel_id_of(event, "span_id");
    }
  }
  insert_all_at_free_seq_locked(to, moved);
  for (const char* sql : {"DELETE FROM events WHERE session_id = ?1", "DELETE FROM otel_spans WHERE session_id = ?1",
                          "DELETE FROM otel_pending_parents WHERE session_id = ?1", "DELETE FROM traces WHERE id = ?1"}) {
    Statement(db_, sql).bind(1, from).step();
  }
  tx.commit();
  agent_span_cache_.erase(from);
  return true;
}

void DevStore::upsert_trace(const json& initial, const std::function<void(json&)>& update) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  upsert_trace_locked(initial, update);
  tx.commit();
}

std::vector<EventOutcome> DevStore::upsert_trace_with_spans(const json& initial,
                                                            const std::function<void(json&)>& update,
                                                            const std::vector<OtlpSpanRow>& spans) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  const std::string& trace_id = upsert_trace_locked(initial, update);
  // Spans stored as events by an earlier version are found by their span_start's key.
  const bool has_events =
      Statement(db_, "SELECT 1 FROM events WHERE session_id = ?1 LIMIT 1").bind(1, trace_id).step() == SQLITE_ROW;
  std::vector<EventOutcome> outcomes;
  outcomes.reserve(spans.size());
  for (const OtlpSpanRow& span : spans) {
    if (has_events && event_key_stored_locked(trace_id, span.start_key)) {
      outcomes.push_back(EventOutcome::duplicate);
      continue;
    }
    Statement(db_, insert_span_).bind(1, trace_id).bind(2, span.span_hex).bind(3, span.record).step();
    outcomes.push_back(sqlite3_changes(db_) == 1 ? EventOutcome::stored : EventOutcome::duplicate);
  }
  tx.commit();
  return outcomes;
}

const std::string& DevStore::upsert_trace_locked(const json& initial, const std::function<void(json&)>& update) {
  const std::string& id = initial.at("id").get_ref<const std::string&>();
  Statement select(db_, "SELECT body FROM traces WHERE id = ?1");
  if (select.bind(1, id).step() == SQLITE_ROW) {
    json row = json::parse(select.text(0));
    const json before = row;
    update(row);
    // A row the update left as it was is not written again (a frequent case: a trace's later
    // batches), which keeps its page out of the commit.
    if (row == before) return id;
    Statement(db_, "UPDATE traces SET body = ?2 WHERE id = ?1").bind(1, id).bind(2, dump(row)).step();
    return id;
  }
  Statement(db_, "INSERT INTO traces(id, body) VALUES(?1, ?2)").bind(1, id).bind(2, dump(initial)).step();
  return id;
}

std::unordered_map<std::string, std::string> DevStore::agent_spans(const std::string& trace_id,
                                                                  const std::vector<std::string>& otel_span_hexes) {
  std::lock_guard<std::mutex> lock(mutex_);
  return agent_spans_locked(trace_id, otel_span_hexes);
}

std::unordered_map<std::string, std::string> DevStore::agent_spans_locked(
    const std::string& trace_id, const std::vector<std::string>& otel_span_hexes) {
  std::unordered_map<std::string, std::string> found;
  if (otel_span_hexes.empty()) return found;
  auto cached = agent_span_cache_.find(trace_id);
  if (cached == agent_span_cache_.end()) {
    if (agent_span_cache_.size() >= kAgentSpanCacheSessions) {
      auto oldest = std::min_element(agent_span_cache_.begin(), agent_span_cache_.end(), [](const auto& a, const auto& b) {
        return a.second.last_used < b.second.last_used;
      });
      agent_span_cache_.erase(oldest);
    }
    // Built once per session by reading its span_start events; add_events keeps it current.
    AgentSpans spans;
    Statement select(db_,
                     "SELECT json_extract(body, '$.span_id') FROM events WHERE session_id = ?1 "
                     "AND json_extract(body, '$.type') = 'state_change' "
                     "AND json_extract(body, '$.payload.name') = 'span_start' ORDER BY seq");
    select.bind(1, trace_id);
    while (select.step() == SQLITE_ROW) {
      std::string span_id = select.text(0);
      std::string otel_id = otel_id_of_agent_span(span_id);
      if (!otel_id.empty()) spans.by_otel_id.emplace(std::move(otel_id), std::move(span_id));
    }
    cached = agent_span_cache_.emplace(trace_id, std::move(spans)).first;
  }
  cached->second.last_used = ++agent_span_clock_;
  for (const std::string& hex : otel_span_hexes) {
    auto span = cached->second.by_otel_id.find(hex);
    if (span != cached->second.by_otel_id.end()) found.emplace(hex, span->second);
  }
  return found;
}

void DevStore::note_agent_span_locked(const std::string& trace_id, const std::string& agent_span_id) {
  std::string otel_id = otel_id_of_agent_span(agent_span_id);
  if (otel_id.empty()) return;
  auto cached = agent_span_cache_.find(trace_id);
  if (cached != agent_span_cache_.end()) cached->second.by_otel_id.emplace(std::move(otel_id), agent_span_id);
}

void DevStore::claim_otel_trace(const std::string& trace_id, const OtelTraceClaim& claim) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement(db_,
            "INSERT INTO otel_traces(trace_id, session_id, root_span_id) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(trace_id) DO NOTHING")
      .bind(1, trace_id)
      .bind(2, claim.session_id)
      .bind(3, claim.root_span_hex)
      .step();
}

std::optional<OtelTraceClaim> DevStore::otel_trace_claim(const std::string& trace_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(db_, select_otel_claim_);
  if (select.bind(1, trace_id).step() != SQLITE_ROW) return std::nullopt;
  return OtelTraceClaim{select.text(0), select.text(1)};
}

std::optional<std::vector<std::string>> DevStore::events(const std::string& trace_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!trace_exists_locked(trace_id)) return std::nullopt;
  return event_texts_locked(trace_id);
}

std::vector<std::string> DevStore::event_texts_locked(const std::string& trace_id) {
  std::vector<std::pair<std::int64_t, std::string>> rows;  // seq, text
  {
    Statement select(db_, select_events_);
    select.bind(1, trace_id);
    while (select.step() == SQLITE_ROW) rows.emplace_back(select.integer(0), select.text(1));
  }
  const std::size_t stored_events = rows.size();
  // Spans in the order they arrived; each event takes the first seq from its time on that is
  // still free (see upsert_trace_with_spans), so a later span never moves an earlier one's.
  std::unordered_set<std::int64_t> taken;
  bool taken_filled = false;
  const auto claim_seq = [&taken](std::int64_t from) {
    for (std::int64_t seq = from;; ++seq) {
      if (taken.insert(seq).second) return seq;
      if (seq == std::numeric_limits<std::int64_t>::max()) break;
    }
    for (std::int64_t seq = from - 1;; --seq) {  // past the largest seq (never in practice): below
      if (taken.insert(seq).second) return seq;
    }
  };
  std::vector<SpanRecordEvent> span_events;
  Statement select(db_, select_spans_);
  select.bind(1, trace_id);
  while (select.step() == SQLITE_ROW) {
    if (!taken_filled) {
      for (std::size_t i = 0; i < stored_events; ++i) taken.insert(rows[i].first);
      taken_filled = true;
    }
    span_events.clear();
    if (!decode_otlp_span_record(select.text(0), trace_id, span_events)) {
      throw std::runtime_error("unreadable span record in session " + trace_id);
    }
    std::stable_sort(span_events.begin(), span_events.end(), [](const SpanRecordEvent& a, const SpanRecordEvent& b) {
      return a.time_unix_nano < b.time_unix_nano;
    });
    std::optional<std::int64_t> previous;
    for (const SpanRecordEvent& event : span_events) {
      const std::int64_t from = previous && *previous < std::numeric_limits<std::int64_t>::max()
                                    ? std::max(event.time_unix_nano, *previous + 1)
                                    : event.time_unix_nano;
      previous = claim_seq(from);
      rows.emplace_back(*previous, event.head + std::to_string(*previous) + event.tail);
    }
  }
  if (rows.size() > stored_events) {
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  std::vector<std::string> texts;
  texts.reserve(rows.size());
  for (auto& row : rows) texts.push_back(std::move(row.second));
  return texts;
}

std::string DevStore::put_artifact(json artifact) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction tx(db_);
  if (!artifact.contains("artifact_id")) {
    artifact["artifact_id"] = mint_id(db_, "artifact", "artifact_", [&](const std::string& id) {
      return Statement(db_, "SELECT 1 FROM artifacts WHERE artifact_id = ?1").bind(1, id).step() ==
             SQLITE_ROW;
    });
  }
  const std::string id = artifact.at("artifact_id").get<std::string>();
  Statement(db_,
            "INSERT INTO artifacts(session_id, artifact_id, body) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(session_id, artifact_id) DO UPDATE SET body = excluded.body")
      .bind(1, artifact.at("session_id").get<std::string>())
      .bind(2, id)
      .bind(3, dump(artifact))
      .step();
  tx.commit();
  return id;
}

std::optional<json> DevStore::artifact(const std::string& session_id, const std::string& artifact_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement select(db_, "SELECT body FROM artifacts WHERE session_id = ?1 AND artifact_id = ?2");
  if (select.bind(1, session_id).bind(2, artifact_id).step() != SQLITE_ROW) return std::nullopt;
  return json::parse(select.text(0));
}

void DevStore::delete_artifact(const std::string& session_id, const std::string& artifact_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement(db_, "DELETE FROM artifacts WHERE session_id = ?1 AND artifact_id = ?2")
      .bind(1, session_id)
      .bind(2, artifact_id)
      .step();
}

}  // namespace promptetheus::devserver
