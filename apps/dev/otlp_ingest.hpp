// OpenTelemetry spans as Promptetheus events: what `POST /v1/traces` of `promptetheus dev`
// stores for each span of an OTLP ExportTraceServiceRequest (in its JSON form; the protobuf form
// is decoded to it first, dev/otlp_protobuf.hpp).
//
// Each valid span becomes, in this order:
//   - state_change `span_start` {name, span_name} at the span's start time;
//   - one event per span event at its time (clamped into the span): an `exception` event becomes
//     an `error` {message, error_type, traceback, handled:false} from its exception.* attributes,
//     any other a state_change {name: <event name>, before: null, after: <its attributes>};
//   - an `error` {message: status message or "span <name> failed", error_type: "otel.status"} at
//     the end time when the status is ERROR and no exception event was recorded;
//   - state_change `span_end` {name, span_name, duration_ms} at the span's end time.
// Every event carries span_id "span_<16 hex of the OTel span id>" and the metadata keys
// otel.trace_id and otel.span_id; the span_start also otel.parent_span_id (when there is one),
// otel.kind ("internal", "server", "client", "producer", "consumer" or "unspecified"),
// otel.service (the resource's service.name), otel.scope, otel.attributes and otel.resource
// (attribute maps as JSON objects: int64 values as numbers, arrays as arrays, key-value lists as
// objects, bytes as their base64 text); the span_end also otel.status {code, message} with code
// "unset", "ok" or "error". Idempotency keys are "otlp:<trace id>:<span id>:<n>", n counting the
// span's events from 0, so a resent span is a duplicate, not a copy. (Spans of a trace no agent
// session claimed are stored one row per span id instead: dev/otlp_span_record.hpp.)
//
// A span is rejected (counted, its reason kept) when its traceId is not 32 hex digits or all
// zeros, its spanId not 16 hex digits or all zeros, its parentSpanId neither empty nor 16 hex
// digits, or its startTimeUnixNano missing, zero or not a 64-bit count of nanoseconds. A missing
// or earlier end time is the start time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_view.hpp"

namespace promptetheus::devserver {

/// One event made from a span, not yet placed in a session: the receiver chooses its session_id,
/// parent_id and seq (otlp_event_text). Its other members are kept as the canonical JSON the
/// stored event holds, so placing it writes no JSON again.
struct OtlpEvent {
  std::int64_t time_unix_nano = 0;
  /// The OTel parent span id (16 hex) of the span this event belongs to, empty for a root span.
  std::string parent_span_hex;
  const char* type = "";  // "state_change" or "error"
  std::string timestamp;
  std::string idempotency_key;
  std::string span_id;
  bool starts_span = false;  // the span's span_start
  std::string payload;   // canonical JSON object
  std::string metadata;  // canonical JSON object
  /// For a span the Promptetheus SDK or CLI exported (scope "promptetheus"): the session it
  /// describes (its promptetheus.session_id attribute). That session's own events already say
  /// what the span says.
  std::string recorded_session;
};

/// The idempotency key of the n-th event made from a span (n = 0: its span_start): a span
/// resent is a duplicate, and a stored span can be found by its ids.
std::string otlp_idempotency_key(std::string_view trace_id, std::string_view span_hex, std::size_t n);

/// The events of the spans of one trace in a request, span by span in request order.
struct OtlpTrace {
  std::string trace_id;  // 32 lowercase hex
  std::string service_name;  // of the resource of the trace's first span
  std::int64_t earliest_start_unix_nano = 0;
  /// Whether a span of it failed (status ERROR or an exception event).
  bool failed = false;
  std::vector<OtlpEvent> events;
};

struct OtlpMapping {
  std::vector<OtlpTrace> traces;  // in order of first appearance
  std::int64_t accepted_spans = 0;
  std::int64_t rejected_spans = 0;
  /// The reason of the first rejected span ("resourceSpans[0].scopeSpans[1].spans[2]: ...").
  std::string error_message;
};

/// Maps a request (read with JsonView, as nlohmann::json would read it). Nothing (and `error`
/// set) when the document is not an ExportTraceServiceRequest at all (not an object, or
/// resourceSpans/scopeSpans/spans not lists); odd members inside a span are ignored or rejected
/// span by span. The mapping copies what it keeps: `request` may go away afterwards. Never
/// throws except std::bad_alloc.
std::optional<OtlpMapping> map_otlp_request(detail::JsonView::Ref request, std::string& error);

/// The canonical JSON text of `event` stored in `session_id` under `parent_id` (none: null),
/// split around its seq: `head` ends with `"seq":` and `tail` is the rest after the seq's value.
void otlp_event_text(const OtlpEvent& event, const std::string& session_id, const std::string* parent_id,
                     const std::string& workspace_id, const std::string& project_id, std::string& head,
                     std::string& tail);

}  // namespace promptetheus::devserver
