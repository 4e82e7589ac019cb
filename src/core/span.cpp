#include "promptetheus/span.hpp"

#include <cmath>

#include "core/access.hpp"
#include "core/event.hpp"
#include "core/ids.hpp"
#include "core/session_state.hpp"
#include "core/span_events.hpp"
#include "core/thread_context.hpp"

namespace promptetheus {
inline namespace v0 {

Span::Span(std::string name, nlohmann::json metadata) noexcept : session_(current_for_recording()) {
  open(std::move(name), std::move(metadata));
}

Span::Span(const SessionHandle& session, std::string name, nlohmann::json metadata) noexcept : session_(session) {
  open(std::move(name), std::move(metadata));
}

void Span::open(std::string name, nlohmann::json metadata) noexcept {
  detail::ThreadContext* ctx = nullptr;
  bool pushed = false;
  try {
    if (!detail::SessionAccess::state(session_)) return;
    ctx = detail::thread_context();
    if (!ctx) return;
    name_ = std::move(name);
    metadata_ = std::move(metadata);
    id_ = detail::new_span_id();
    ctx->spans.push_back({detail::SessionAccess::state(session_).get(), id_});
    pushed = true;
    started_ = std::chrono::steady_clock::now();
    // span_start carries the new span as span_id and the enclosing one as parent_id.
    if (detail::record_span_start(detail::SessionAccess::state(session_), name_, metadata_)) {
      active_ = true;
      return;
    }
  } catch (...) {
  }
  // span_start was not recorded (out of memory, or the session records no more): a no-op span,
  // which stamps no event and records no span_end, rather than an end without a start.
  if (pushed) ctx->spans.pop_back();
}

Span::~Span() {
  if (!active_) return;
  try {
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    detail::record_span_end(detail::SessionAccess::state(session_), name_, detail::span_duration_ms(elapsed),
                            std::move(metadata_));
  } catch (...) {
  }
  // Pop even if recording span_end failed.
  if (auto* ctx = detail::thread_context()) {
    auto& spans = ctx->spans;
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      if (it->id == id_ && it->session == detail::SessionAccess::state(session_).get()) {
        spans.erase(std::next(it).base());
        break;
      }
    }
  }
}

std::string Span::id() const { return active_ ? detail::span_id_string(id_) : std::string(); }

TraceContext Span::trace_context() const noexcept {
  const auto& state = detail::SessionAccess::state(session_);
  if (!active_ || !state) return {};
  try {
    return detail::outgoing_context(state->trace, detail::otel_span_id(id_));
  } catch (...) {
    return {};  // out of memory: no context rather than an exception
  }
}

}  // namespace v0
}  // namespace promptetheus
