// Per-thread state: the stack of current sessions and of open spans (contract §2.6-§2.7).
#pragma once

#include "promptetheus/export.hpp"

#include <memory>
#include <vector>

#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class SessionState;

struct SpanFrame {
  const SessionState* session;  // identity only: spans nest per (thread, session)
  SpanId id;
};

struct ThreadContext {
  std::vector<std::shared_ptr<SessionState>> sessions;  // back() is current()
  std::vector<SpanFrame> spans;                          // innermost last
};

/// This thread's context, or null while the thread is exiting (its thread_locals are gone).
ThreadContext* thread_context() noexcept;

/// Sets span_id/parent_id of `event` from the innermost spans of its session on this thread.
void stamp_span(Event& event, const SessionState* session) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
