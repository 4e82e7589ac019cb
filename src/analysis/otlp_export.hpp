// A recorded session as OpenTelemetry spans (contract §9.1): the ExportTraceServiceRequest
// document that OTLP/HTTP carries as JSON, built from the spooled events alone.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/session_store.hpp"

namespace promptetheus::analysis {

struct OtlpExportOptions {
  /// Resource attributes (string values). `service.name` defaults to the agent named in
  /// session_started, else "promptetheus-agent".
  std::map<std::string, std::string> resource_attributes;
  /// Unix time in nanoseconds used only when no event of the session has a readable timestamp;
  /// unset = the realtime clock at export.
  std::optional<std::int64_t> fallback_time_unix_nano;
};

/// The OTLP/HTTP JSON document (`resourceSpans` → `scopeSpans` → `spans`) of one session:
/// - a root span `promptetheus.session <session_id>` spanning the first to the last event, its
///   span events the events recorded outside any span, parented under the caller's span when
///   session_started recorded an incoming W3C trace context;
/// - one span per Promptetheus span (parents, names, times and attributes as §9.1 says), its
///   span events the events recorded in it;
/// - trace and span ids as the SDK's trace_context() gives them: the incoming trace id, else
///   derived from the session id; a span "span_<32 hex>" has the id of its first 16 digits;
///   the incoming tracestate, when recorded, is every span's traceState.
/// Ids are lowercase hex and 64-bit integers decimal strings, as OTLP/HTTP JSON requires.
/// Values that are neither primitives nor lists of one primitive type become compact JSON text.
/// Never throws on any input (only std::bad_alloc).
nlohmann::ordered_json otlp_trace_document(const Session& session, const OtlpExportOptions& options = {});

}  // namespace promptetheus::analysis
