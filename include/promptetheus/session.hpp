// Session: one user-visible agent task, and the typed helpers that record its events.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/export.hpp"
#include "promptetheus/policy.hpp"
#include "promptetheus/trace_context.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
class SessionState;
struct SessionAccess;
PROMPTETHEUS_END_DETAIL_NAMESPACE

PROMPTETHEUS_BEGIN_NAMESPACE

class Client;
class Span;

/// Parameters of a Session (contract §2.1). Start from defaults and assign fields.
struct SessionOptions {
  std::string agent;
  std::string user_goal;
  std::string session_id;     ///< empty = a new ULID
  std::string project_id;     ///< empty = the client's Options::project_id
  std::string environment;    ///< empty = the client's Options::environment
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<std::string> tags;
  /// The client to report to; null = the process-wide default client (see init()).
  Client* client = nullptr;
  /// The trace of the request that started this run (TraceContext::extract of its headers):
  /// the session joins that trace, its root span a child of the caller's span, and
  /// session_started records it in metadata (`trace_id`, `parent_span_id`, `trace_flags`,
  /// `tracestate`; keys already set are kept). Invalid (the default): the session's trace is
  /// derived from its id.
  TraceContext trace_context;
};

/// Optional fields of llm_call, emitted in this order when set (contract §1.5).
struct LlmUsage {
  std::optional<std::int64_t> input_tokens = std::nullopt;
  std::optional<std::int64_t> output_tokens = std::nullopt;
  std::optional<std::int64_t> latency_ms = std::nullopt;
  std::optional<std::string> messages_ref = std::nullopt;
  std::optional<std::string> prompt_ref = std::nullopt;
};

/// A reference to a session that records events: what current() returns, what Context carries
/// across threads, and the base of the RAII Session. Copyable and cheap (one shared_ptr). A
/// default-constructed handle, or one of a session that is not recording, is a no-op: every
/// helper does nothing and returns false/empty.
///
/// Every helper: thread-safe (events of one session may come from many threads; seq is atomic),
/// non-blocking (no I/O, no lock: the event is queued for the worker thread), never throws.
/// A helper returns true when the event was queued; false when it was dropped (no-op handle,
/// client shut down, session already ended, invalid event, or queue full) — drops are counted in
/// stats(). `metadata`, when a non-empty object, is attached to the event.
/// Events carry the span_id/parent_id of the innermost Span open on the calling thread for this
/// session.
class PROMPTETHEUS_API SessionHandle {
 public:
  using json = nlohmann::json;

  SessionHandle() noexcept = default;

  /// The session id ("noop" for a no-op handle).
  const std::string& id() const noexcept;
  /// True when events are recorded (false for a no-op handle or a shut down client).
  bool is_recording() const noexcept;
  explicit operator bool() const noexcept { return is_recording(); }

  /// The cost of the llm_call events this session recorded so far (contract §7.8): tokens over
  /// all calls, dollars over those whose model has a price (Options::prices, else the default
  /// table). Thread-safe; takes a short lock; never throws (all zero for a no-op handle).
  policy::SessionCost cost() const noexcept;

  bool user_message(std::string content, json metadata = nullptr) const noexcept;
  bool agent_message(std::string content, json metadata = nullptr) const noexcept;
  /// Returns the call id used (the given one, or 32 random hex digits); empty for a no-op handle.
  std::string tool_call(std::string tool_name, json arguments = json::object(), std::string call_id = {},
                        json metadata = nullptr) const noexcept;
  bool tool_result(std::string call_id, json result = nullptr, std::optional<std::string> error = std::nullopt,
                   json metadata = nullptr) const noexcept;
  bool retrieval(std::string query, json documents, json metadata = nullptr) const noexcept;
  bool browser_action(std::string action, std::string target, std::optional<std::string> url = std::nullopt,
                      json metadata = nullptr) const noexcept;
  bool dom_snapshot(std::string url, std::string visible_text, json selected_values = json::object(),
                    std::vector<std::string> warnings = {}, json metadata = nullptr) const noexcept;
  /// Keeps the bytes under Options::artifact_dir (written by the worker thread) and records
  /// {size_bytes, source_type:"bytes", artifact_id, storage_path}.
  bool screenshot(std::vector<std::uint8_t> png_bytes, json metadata = nullptr) const noexcept;
  /// Copies an existing file into the artifact store; a missing file records {source: path}.
  /// Reads the file's size on the calling thread (one stat).
  bool screenshot(const std::filesystem::path& file, json metadata = nullptr) const noexcept;
  bool replay_artifact(std::vector<std::uint8_t> webm_bytes, std::string artifact_type = "screen_recording",
                       json event_time_map = json::object(), json metadata = nullptr) const noexcept;
  bool replay_artifact(const std::filesystem::path& file, std::string artifact_type = "screen_recording",
                       json event_time_map = json::object(), json metadata = nullptr) const noexcept;
  /// An empty model is invalid (contract §1.3): the event is dropped and counted.
  bool llm_call(std::string model, LlmUsage usage = {}, json metadata = nullptr) const noexcept;
  /// `value` should be a number or a bool.
  bool score(std::string name, json value, std::optional<std::string> comment = std::nullopt,
             std::optional<std::string> source = std::nullopt, json metadata = nullptr) const noexcept;
  bool metric(std::string name, double value, std::optional<std::string> unit = std::nullopt,
              json metadata = nullptr) const noexcept;
  /// From an exception: {handled, message: what(), error_type: `error_type` or the exception's
  /// demangled type name}.
  bool error(const std::exception& exception, std::optional<std::string> error_type = std::nullopt,
             bool handled = true, json metadata = nullptr) const noexcept;
  bool error(std::exception_ptr exception, std::optional<std::string> error_type = std::nullopt,
             bool handled = true, json metadata = nullptr) const noexcept;
  /// From a message: {handled, message} plus error_type when given.
  bool error(std::string message, std::optional<std::string> error_type = std::nullopt, bool handled = true,
             json metadata = nullptr) const noexcept;
  bool goal_check(bool passed, std::vector<std::string> mismatches = {}, json metadata = nullptr) const noexcept;
  bool state_change(std::string name, json before = nullptr, json after = nullptr,
                    json metadata = nullptr) const noexcept;
  /// Merges `values` (an object) into the session's metadata and records metadata_update.
  bool update_metadata(json values) const noexcept;
  /// Adds the tags not present yet and records tags_added with the newly added ones.
  bool add_tags(std::vector<std::string> tags) const noexcept;
  /// Records session_end once (later calls return false and record nothing). Events emitted
  /// after it are dropped and counted. Does not wait for delivery unless
  /// Options::flush_on_session_end is set.
  bool end(std::string status = "completed", std::optional<std::string> error = std::nullopt) const noexcept;
  /// Waits up to `timeout` for this client's queue to be written (see Client::flush).
  bool flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const noexcept;
  /// The W3C trace context to send with a call made now from this thread (its traceparent()
  /// or headers()), so that the called service's spans nest under this run: the session's
  /// trace, parented under the innermost Span of this session open on this thread, else under
  /// the session's root span. Invalid for a no-op handle. Thread-safe, no I/O, never throws.
  TraceContext trace_context() const noexcept;

 protected:
  friend struct detail::SessionAccess;
  std::shared_ptr<detail::SessionState> state_;
};

/// RAII scope of one agent task (contract §2.2). Construction records state_change
/// session_started and makes the session current on this thread; destruction records
/// session_end "completed" (or, when the scope is left by an exception, "failed" with
/// "<type>: <what()>"), restores the previous current session, and never throws or swallows the
/// exception. Not copyable or movable (it is a scope). Construction never fails: without a
/// running client the session is a no-op.
class PROMPTETHEUS_API Session : public SessionHandle {
 public:
  explicit Session(SessionOptions options) noexcept;
  Session(std::string agent, std::string user_goal) noexcept;
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Records session_end "failed" with the exception's "<type>: <what()>" and returns false if
  /// the session already ended. Use from a catch block when the exception will not propagate.
  bool fail(std::exception_ptr exception) const noexcept;

 private:
  void open(SessionOptions options) noexcept;

  int uncaught_at_entry_;
  /// Set when head sampling left this session out: the thread context (opaque here) where it is
  /// current as a no-op, so that what runs inside it is neither recorded into an enclosing
  /// session nor counted as running outside any session.
  void* sampled_out_on_ = nullptr;
};

/// The session made current on this thread by the innermost live Session (or a ContextScope);
/// a no-op handle when there is none. A new thread has none. Never throws.
PROMPTETHEUS_API SessionHandle current() noexcept;

/// current(), for code about to record into it (what Span, ToolCall, tool() and traced() use):
/// when the thread has no session at all (a session left out by sampling counts as one), the
/// call is counted in Stats::no_session and the first such call is reported under
/// PROMPTETHEUS_DEBUG. Thread-safe, never blocks or throws.
PROMPTETHEUS_API SessionHandle current_for_recording() noexcept;

PROMPTETHEUS_END_NAMESPACE
