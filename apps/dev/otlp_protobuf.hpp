// OTLP/HTTP with protobuf bodies: the trace export request decoded from the protobuf wire format
// into the OTLP/HTTP JSON form the JSON route already handles, and the two small responses
// (ExportTraceServiceResponse, google.rpc.Status) encoded back.
//
// The decoder is written by hand rather than generated: the request needs only a handful of
// messages and the four wire types 0, 1, 2 and 5, so a bounded decoder of a few hundred lines
// avoids a libprotobuf build dependency and generated code, and its bounds (every length checked
// against the bytes left, AnyValue nesting at most 64 levels) are explicit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace promptetheus::devserver {

/// Decodes an opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest (protobuf
/// binary) into the OTLP/HTTP JSON form of the same request (the protobuf JSON mapping as OTLP
/// specifies it: lowerCamelCase field names, trace/span ids as lowercase hex, 64-bit integers as
/// decimal strings, enums as integers, bytes values base64). On malformed input returns nullopt
/// and sets `error` to a short reason (e.g. "truncated length-delimited field", "nesting deeper than 64").
///
/// - A scalar field is in the JSON when it is on the wire (the last occurrence wins); an empty
///   parentSpanId is left out. Ids of any length are hex-encoded as given: the caller validates.
/// - Every KeyValue has "key" and "value" ({} for an AnyValue with no value set), and an array or
///   kvlist value always has "values", so readers need not treat absence specially.
/// - A non-finite doubleValue is "NaN", "Infinity" or "-Infinity", as the JSON mapping says.
/// - Strings that are not valid UTF-8 have each invalid sequence replaced with U+FFFD, so the
///   result can always be dumped.
/// - Unknown fields are skipped, among them the fields OTLP reserves for other signals
///   (AnyValue.string_value_strindex, KeyValue.key_strindex, Resource.entity_refs). Malformed:
///   group or undefined wire types, a known field with another wire type, truncated values,
///   varints longer than 10 bytes, AnyValue arrays/kvlists nested more than 64 deep.
/// An empty body is an empty request: `{}`. Throws only std::bad_alloc.
std::optional<nlohmann::json> decode_otlp_trace_request(std::string_view bytes, std::string& error);

/// ExportTraceServiceResponse with partial_success {rejected_spans, error_message}; when
/// rejected_spans == 0 and message empty, the empty message (zero bytes).
std::string encode_otlp_trace_response(std::int64_t rejected_spans, std::string_view error_message);

/// google.rpc.Status {code, message} (no details).
std::string encode_rpc_status(std::int32_t code, std::string_view message);

}  // namespace promptetheus::devserver
