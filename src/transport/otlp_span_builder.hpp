// Live OpenTelemetry export of the SDK's own events (contract §9.1): spans are built on the
// worker thread as the events pass, and each span is written out as OTLP/HTTP JSON the moment
// it ends, so a long-running agent shows up in a tracing backend while it runs. The session's
// root span is written when the session ends (or when the client closes with it still open).
// The mapping is the one `promptetheus export --format otlp` applies to a recorded session; a
// unit test holds the two to the same spans.
#pragma once

#include "promptetheus/export.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/json_view.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct OtlpSpanBuilderConfig {
  /// Resource attributes of every span; `service.name`, when not given, is the session's agent
  /// name (session_started's `after.agent`), else "promptetheus-agent".
  std::map<std::string, std::string> resource_attributes;
  /// The span events held for spans still open, over all sessions, are bounded by this many
  /// bytes of OTLP JSON; an event past the bound is not attached (counted in dropped_events).
  /// The span itself is still written when it ends.
  std::size_t max_held_bytes = 64u << 20;
};

/// Not thread-safe: one worker thread feeds it. Never throws but std::bad_alloc.
class OtlpSpanBuilder {
 public:
  explicit OtlpSpanBuilder(OtlpSpanBuilderConfig config = {});
  ~OtlpSpanBuilder();
  OtlpSpanBuilder(const OtlpSpanBuilder&) = delete;
  OtlpSpanBuilder& operator=(const OtlpSpanBuilder&) = delete;

  /// Takes one event (its canonical JSON). Events of a session are expected in seq order, as
  /// the worker hands them over; an event that is not a JSON object is ignored.
  void add(const EncodedEvent& event);
  /// Ends every open span and session as of its last event, as when the client closes: a
  /// session cannot go on once its process stops recording.
  void finish_all();

  /// Spans written since the last take, as one ExportTraceServiceRequest JSON document, or
  /// nothing when there are none. `spans` is set to their number.
  std::optional<std::string> take_request(std::size_t& spans);

  /// Events not attached to their span because of max_held_bytes.
  std::uint64_t dropped_events() const noexcept { return dropped_events_; }
  std::size_t open_sessions() const noexcept;

 private:
  struct Session;
  struct Span;
  /// Appends the span event of `event` to `events` (a span's or the root's) and counts its bytes
  /// in `held`, or drops it when max_held_bytes would be passed.
  void hold_event(std::string& events, std::size_t& held, JsonView::Ref event, std::int64_t time_ns);
  static std::string span_json(const Session& session, const std::string& span_hex, const std::string& parent_hex,
                               const std::string& name, std::int64_t start_ns, std::int64_t end_ns,
                               const std::string& attributes, const std::string& events, bool error);
  void finish_span(Session& session, Span& span);
  void finish_session(Session& session);
  void emit(const Session& session, std::string span_json);

  OtlpSpanBuilderConfig config_;
  JsonView view_;  // the event being added (its storage reused from one event to the next)
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;
  /// Finished spans by service name (one resourceSpans each), in order of writing.
  std::map<std::string, std::vector<std::string>> finished_;
  std::size_t finished_count_ = 0;
  std::size_t held_bytes_ = 0;
  std::uint64_t dropped_events_ = 0;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
