// The span_start / span_end state_change events (contract §1.6), recorded by Span.
#pragma once

#include "promptetheus/export.hpp"

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
                     std::int64_t duration_ms, nlohmann::json metadata) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
