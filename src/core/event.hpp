// The in-memory event: built on the caller thread without JSON, serialised by the worker.
#pragma once

#include "promptetheus/export.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class SessionInfo;

/// The 16 event types in the contract's canonical order (§1.5).
enum class EventType : std::uint8_t {
  user_message, agent_message, tool_call, tool_result, retrieval, browser_action, dom_snapshot,
  screenshot, replay_artifact, goal_check, state_change, session_end, llm_call, score, error, metric,
};
inline constexpr int kEventTypeCount = 16;

/// The event type names, indexed by EventType: the one list of them (§1.5).
inline constexpr std::array<std::string_view, kEventTypeCount> kEventTypes = {
    "user_message", "agent_message", "tool_call",   "tool_result",     "retrieval", "browser_action",
    "dom_snapshot", "screenshot",    "replay_artifact", "goal_check",  "state_change",
    "session_end",  "llm_call",      "score",       "error",           "metric"};

/// kEventTypes[type] as a NUL-terminated string.
const char* event_type_name(EventType type) noexcept;
/// True when `name` is one of kEventTypes.
bool is_event_type(std::string_view name) noexcept;

/// Empties `j` (to null) without allocating. nlohmann::json allocates to destroy a non-empty
/// array or object (it moves the tree onto a heap stack, to avoid recursion), inside its noexcept
/// destructor, so out of memory there is std::terminate. Emptying containers bottom-up first
/// leaves it nothing to allocate for. Containers nested more than 128 levels deep are left to
/// nlohmann::json.
void release_json(nlohmann::json& j) noexcept;

/// A payload value. Helper-made values are scalars or strings; user data stays nlohmann::json.
using Value = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, nlohmann::json>;

struct Field {
  const char* key;  // a string literal of the helper that made it
  Value value;
};

/// Up to kMaxFields fields stored inline: no allocation for the payload itself, and moving an
/// event moves only the fields in use.
class Payload {
 public:
  static constexpr std::size_t kMaxFields = 7;

  Payload() noexcept = default;
  Payload(Payload&& other) noexcept { take(other); }
  Payload& operator=(Payload&& other) noexcept {
    if (this != &other) {
      clear();
      take(other);
    }
    return *this;
  }
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  ~Payload() { clear(); }

  /// Adds a field; ignored past kMaxFields (helpers never get there). May throw what copying
  /// the value throws (std::bad_alloc): helpers catch it at their boundary.
  template <class V>
  void add(const char* key, V&& value) {
    if (size_ >= kMaxFields) return;
    new (slot(size_)) Field{key, Value(std::forward<V>(value))};
    ++size_;
  }
  std::size_t size() const noexcept { return size_; }
  const Field& operator[](std::size_t i) const noexcept { return *slot(i); }
  Field& operator[](std::size_t i) noexcept { return *slot(i); }

 private:
  Field* slot(std::size_t i) noexcept { return std::launder(reinterpret_cast<Field*>(storage_) + i); }
  const Field* slot(std::size_t i) const noexcept {
    return std::launder(reinterpret_cast<const Field*>(storage_) + i);
  }
  void take(Payload& other) noexcept {
    for (std::size_t i = 0; i < other.size_; ++i) new (slot(i)) Field(std::move(*other.slot(i)));
    size_ = other.size_;
    other.clear();
  }
  void clear() noexcept {
    for (std::size_t i = 0; i < size_; ++i) {
      if (auto* json = std::get_if<nlohmann::json>(&slot(i)->value)) release_json(*json);
      slot(i)->~Field();
    }
    size_ = 0;
  }

  alignas(Field) unsigned char storage_[kMaxFields * sizeof(Field)];
  std::uint8_t size_ = 0;
};

using SpanId = std::array<std::uint8_t, 16>;

/// Bytes to keep in the artifact store before the event that references them is written.
struct ArtifactWrite {
  std::string storage_path;          // where to write
  std::vector<std::uint8_t> bytes;   // the content, or
  std::string copy_from;             // a file to copy
};

struct Event {
  std::shared_ptr<const SessionInfo> session;  // never the pipeline: see session_state.hpp
  std::uint64_t seq = 0;
  std::int64_t time_us = 0;  // Unix time in microseconds (formatted by the worker)
  EventType type = EventType::state_change;
  bool has_span = false;     // span_id and parent_id keys present
  bool has_parent = false;   // parent_id is a span (else null)
  SpanId span_id{};
  SpanId parent_id{};
  Payload payload;
  nlohmann::json metadata;   // null, or a non-empty object
  std::unique_ptr<ArtifactWrite> artifact;
  std::uint32_t approx_bytes = 0;

  Event() noexcept = default;
  Event(Event&&) noexcept = default;
  // Events are destroyed and assigned over by the worker: their json must go without allocating
  // (see release_json; the payload's json fields are released by Payload).
  Event& operator=(Event&& other) noexcept {
    if (this == &other) return *this;
    release_json(metadata);
    session = std::move(other.session);
    seq = other.seq;
    time_us = other.time_us;
    type = other.type;
    has_span = other.has_span;
    has_parent = other.has_parent;
    span_id = other.span_id;
    parent_id = other.parent_id;
    payload = std::move(other.payload);
    metadata = std::move(other.metadata);
    artifact = std::move(other.artifact);
    approx_bytes = other.approx_bytes;
    return *this;
  }
  ~Event() { release_json(metadata); }
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
