// The W3C trace a session belongs to, and the trace context it hands to the calls it makes.
#pragma once

#include "promptetheus/export.hpp"

#include <array>
#include <cstdint>
#include <string>

#include "core/event.hpp"
#include "promptetheus/trace_context.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// A session's place in a trace. A session started by a traced request (an incoming
/// traceparent) is in that trace, its root span a child of the caller's span. Otherwise its
/// trace and root span ids are derived from the session id, so that every exporter and tool
/// derives the same ids from the recorded events alone.
struct TraceIdentity {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> root_span_id{};
  std::uint8_t flags = 0x01;
  std::string tracestate;
};

TraceIdentity trace_identity(const std::string& session_id, const TraceContext& incoming);

/// The 8-byte (OpenTelemetry) id of a span: the first half of its 16-byte id.
std::array<std::uint8_t, 8> otel_span_id(const SpanId& id) noexcept;

/// The context a call made under `parent` (a span id of 8 bytes) passes on.
TraceContext outgoing_context(const TraceIdentity& trace, const std::array<std::uint8_t, 8>& parent);

/// The metadata keys under which session_started records an incoming trace context (those of
/// the reference SDK's session_kwargs_from_context), and "tracestate" when there is one.
inline constexpr const char* kTraceIdKey = "trace_id";
inline constexpr const char* kParentSpanIdKey = "parent_span_id";
inline constexpr const char* kTraceFlagsKey = "trace_flags";
inline constexpr const char* kTracestateKey = "tracestate";

PROMPTETHEUS_END_DETAIL_NAMESPACE
