// Per-thread state: the stack of current sessions and of open spans (contract §2.6-§2.7).
#pragma once

#include "promptetheus/export.hpp"

#include <cstdint>
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
  /// back() is current(). A null entry is a Session that head sampling left out: inside it,
  /// current() is a no-op, not the session around it.
  std::vector<std::shared_ptr<SessionState>> sessions;
  std::vector<SpanFrame> spans;  // innermost last
};

/// Calls of current_for_recording() that found no session, in this process (Stats::no_session).
std::uint64_t no_session_calls() noexcept;

/// This thread's context, or null while the thread is exiting (its thread_locals are gone).
ThreadContext* thread_context() noexcept;

/// The innermost span of `session` open on this thread, if any.
bool innermost_span(const SessionState* session, SpanId& out) noexcept;

/// Sets span_id/parent_id of `event` from the innermost spans of its session on this thread.
void stamp_span(Event& event, const SessionState* session) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
