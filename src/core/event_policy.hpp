// The privacy and volume policy as the pipeline sees it: what decides, for each event, whether it
// is recorded and what of it may leave the process. The policy module (src/policy) implements
// it from Options; the pipeline, the spill paths and spool replay only call this interface, and
// a client without any policy in force has none (nullptr), so the common path pays nothing.
#pragma once

#include "promptetheus/export.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Thread-safe: the worker, caller threads that spill and the spool replayer call one instance
/// concurrently. Never throws.
///
/// In order: per-type sampling (keep), redaction, then the payload limits (write).
class EventPolicy {
 public:
  virtual ~EventPolicy() = default;

  /// False when the event's type is sampled out (per-type sampling): it is not recorded.
  virtual bool keep(const Event& event, std::string_view idempotency_key) const noexcept = 0;

  /// Writes `event` as its canonical JSON line into `line` (cleared first), redacted. The event
  /// may be changed in place on the way. Returns false, with `line` empty, only when nothing
  /// could be written (out of memory): the event is then dropped and counted by the caller.
  virtual bool write(Event& event, std::string& line) const noexcept = 0;

  /// Redacts an event line written earlier, perhaps by a run without this policy (spool replay):
  /// rewrites `event.json` and, for a session_started line, `event.trace_body`. A line that is
  /// not a JSON object fails like any other redaction failure.
  virtual void redact_line(EncodedEvent& event) const noexcept = 0;

  /// The body that creates a session's trace (core/trace_body.hpp), redacted as the
  /// session_started event it comes from is. Returns false (leaving `out` unchanged) when no
  /// redaction is configured. When redaction fails closed, `out` keeps only the session id.
  virtual bool redact_trace_body(const std::string& body, std::string& out) const noexcept = 0;

  /// Events so far in which redaction replaced something; whose redaction failed (recorded as
  /// the skeleton, or unredacted when the policy fails open); and cut to the payload limits.
  struct Counts {
    std::uint64_t redacted = 0;
    std::uint64_t failed = 0;
    std::uint64_t truncated = 0;
  };
  virtual Counts counts() const noexcept = 0;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
