// W3C Trace Context (Level 1): the `traceparent` and `tracestate` headers that join a run to
// the trace of the request that started it, and that a tool passes on to the services it calls.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promptetheus/export.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// A trace id, a parent (span) id, the trace flags and the vendors' `tracestate`, parsed and
/// written exactly as W3C Trace Context Level 1 says:
/// - `traceparent` = version "-" trace-id "-" parent-id "-" trace-flags, lowercase hex only.
///   Version `ff` is invalid; version `00` is exactly 55 characters; a higher version may carry
///   more after a `-`, which is ignored. All-zero trace or parent ids are invalid.
/// - `tracestate` = up to 32 comma-separated `key=value` members (empty members and spaces or
///   tabs around them allowed), keys unique and as the grammar says. An invalid tracestate is
///   dropped whole; the traceparent stays valid.
/// A default-constructed or failed parse gives an invalid context (valid() false), which
/// callers treat as "no incoming trace": start a new one. Values are plain data: copyable, and
/// safe to read from any thread. No member throws, apart from std::bad_alloc.
class PROMPTETHEUS_API TraceContext {
 public:
  TraceContext() = default;

  /// Parses a traceparent and, when given, its tracestate (several headers joined with ',').
  /// Spaces and tabs around the traceparent are ignored.
  static TraceContext parse(std::string_view traceparent, std::string_view tracestate = {});
  /// Reads `traceparent` and `tracestate` from request headers, names compared ignoring case;
  /// repeated `tracestate` headers are joined in order.
  static TraceContext extract(const std::map<std::string, std::string>& headers);
  static TraceContext extract(const std::vector<std::pair<std::string, std::string>>& headers);
  /// A new trace: random trace and parent ids, the sampled flag set.
  static TraceContext generate();

  bool valid() const noexcept { return valid_; }
  /// 32 lowercase hex digits ("" when invalid).
  std::string trace_id() const;
  /// 16 lowercase hex digits ("" when invalid): the caller's span, to parent under.
  std::string parent_id() const;
  const std::array<std::uint8_t, 16>& trace_id_bytes() const noexcept { return trace_id_; }
  const std::array<std::uint8_t, 8>& parent_id_bytes() const noexcept { return parent_id_; }
  std::uint8_t flags() const noexcept { return flags_; }
  bool sampled() const noexcept { return (flags_ & 0x01) != 0; }
  /// The validated tracestate as received (members trimmed, empty ones removed), or "".
  const std::string& tracestate() const noexcept { return tracestate_; }

  /// The `traceparent` header value, version 00 ("" when invalid).
  std::string traceparent() const;
  /// The same trace and flags with `parent_id` (16 lowercase hex, not all zero) as the parent:
  /// the context a span passes to a call it makes. Invalid when either is.
  TraceContext with_parent(std::string_view parent_id) const;
  /// The headers to send: `traceparent`, and `tracestate` when there is one (cut to 512
  /// characters as the specification allows: members over 128 characters go first, then the
  /// rightmost). Empty when invalid.
  std::map<std::string, std::string> headers() const;

 private:
  std::array<std::uint8_t, 16> trace_id_{};
  std::array<std::uint8_t, 8> parent_id_{};
  std::uint8_t flags_ = 0;
  bool valid_ = false;
  std::string tracestate_;
};

PROMPTETHEUS_END_NAMESPACE
