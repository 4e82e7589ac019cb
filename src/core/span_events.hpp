// The span_start / span_end state_change events (contract §1.6), recorded by Span.
#pragma once

#include "promptetheus/export.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class SessionState;

/// {"name":"span_start","span_name":name} — call after pushing the span on this thread.
bool record_span_start(const std::shared_ptr<SessionState>& session, const std::string& name,
                       nlohmann::json metadata) noexcept;
/// {"name":"span_end","span_name":name,"duration_ms":ms} — call before popping the span.
bool record_span_end(const std::shared_ptr<SessionState>& session, const std::string& name,
                     double duration_ms, nlohmann::json metadata) noexcept;

/// A span's duration in milliseconds to the microsecond (three decimals). The reference rounds
/// to whole milliseconds, so every fast step of an agent reads 0; this keeps what a trace
/// viewer needs to tell a 0.2 ms cache hit from a 0.9 ms one.
inline double span_duration_ms(std::chrono::steady_clock::duration elapsed) noexcept {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  return static_cast<double>(micros < 0 ? 0 : micros) / 1000.0;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
