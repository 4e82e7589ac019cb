// Span: an RAII step of a session's run tree (contract §2.6).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "promptetheus/export.hpp"
#include "promptetheus/session.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// Records state_change span_start on construction and span_end (with duration_ms, also when the
/// scope is left by an exception, which passes through unchanged) on destruction. While it is
/// open on this thread, the session's events carry its span_id and the enclosing span as
/// parent_id. Spans nest per (thread, session). Not copyable or movable; destroy on the thread
/// that created it. Never throws; a Span of a no-op session does nothing and has an empty id.
class PROMPTETHEUS_API Span {
 public:
  /// A span of the current() session.
  explicit Span(std::string name, nlohmann::json metadata = nullptr) noexcept;
  Span(const SessionHandle& session, std::string name, nlohmann::json metadata = nullptr) noexcept;
  ~Span();
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  /// "span_<32 hex>", or empty for a no-op span.
  std::string id() const;
  /// The W3C trace context for a call made inside this span: the session's trace with this
  /// span as the parent (see SessionHandle::trace_context). Invalid for a no-op span. No I/O,
  /// never throws.
  TraceContext trace_context() const noexcept;

 private:
  void open(std::string name, nlohmann::json metadata) noexcept;

  SessionHandle session_;
  std::string name_;
  nlohmann::json metadata_;
  std::array<std::uint8_t, 16> id_{};
  bool active_ = false;
  std::chrono::steady_clock::time_point started_;
};

PROMPTETHEUS_END_NAMESPACE
