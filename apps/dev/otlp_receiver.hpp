// `POST /v1/traces` of `promptetheus dev`: the OTLP/HTTP trace receiver. It reads an
// ExportTraceServiceRequest (JSON or protobuf, gzip undone by the body reader), maps its spans to
// events (dev/otlp_ingest.hpp) and stores them:
//   - in the agent session that holds the span's trace: the trace id its session_started
//     recorded from an incoming traceparent, else the one derived from its session id (what the
//     SDK's trace_context() hands to the calls it makes); a span whose parent is the session's
//     root span is a top-level span there, and one whose parent is an agent span (by its first
//     16 hex digits) nests under that span;
//   - else in the session `otel_<trace id>`, created on its first span (agent: the service
//     name, source "otlp", status "failed" once a span of it fails, else "completed"); when an
//     agent session later claims that trace, these events move into it.
// Spans the Promptetheus SDK or CLI exported from an agent session (scope "promptetheus") are not
// stored again in that session: its own events already hold them.
// Joins do not depend on arrival order: a span whose parent is an agent span not delivered yet
// is pointed at it when it arrives (join_agent_event).
// An event's seq is its time in Unix nanoseconds (the next free one when that is taken), so
// spans that arrive in any order read in time order, and never take a seq the SDK will use in
// an agent session (the SDK counts from 0).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev/dev_store.hpp"
#include "dev/request_body.hpp"

namespace promptetheus::devserver {

struct OtlpReceipt {
  int status = 200;
  std::string content_type;
  std::string body;
  /// The sessions that got new events (for the console's caches).
  std::vector<std::string> changed_sessions;
};

/// Handles one request body of media type `media_type` (lowercase, no parameters):
/// 200 with an ExportTraceServiceResponse (partialSuccess counting rejected spans and the first
/// reason), 400 with a google.rpc.Status for a body that is not a request, 415 for another
/// media type. The response is protobuf for a protobuf request, else JSON. Thread-safe (the
/// store serialises writes); throws only what the store throws.
OtlpReceipt receive_otlp_traces(DevStore& store, const RawBody& body, const std::string& media_type,
                                const BodyLimits& limits, const std::string& workspace_id,
                                const std::string& project_id);

/// The span id of a span_start event (a state_change whose payload is named "span_start"), else
/// empty: what the events route gives StoredEvent::agent_span_id, so that OTLP spans of the
/// session's trace can name that span as their parent.
std::string agent_span_started(const nlohmann::json& event);

/// Keeps OTLP spans joined to an agent session as its own events arrive, for `event` just stored
/// in `session_id`: its session_started claims the session's trace (and spans of it that came
/// first move in from `otel_<trace>`); an agent span_start becomes the parent of stored spans
/// that named it. Returns the sessions whose stored events changed (none for other events).
std::vector<std::string> join_agent_event(DevStore& store, const std::string& session_id,
                                          const nlohmann::json& event);

}  // namespace promptetheus::devserver
