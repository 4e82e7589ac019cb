#include <algorithm>
#include <atomic>
#include <cstdint>

#include "core/access.hpp"
#include "core/log.hpp"
#include "core/session_state.hpp"
#include "core/thread_context.hpp"
#include "promptetheus/context.hpp"
#include "promptetheus/session.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

// The destructor flips a trivially destructible flag, so that code running after this thread's
// thread_locals are destroyed (static destructors, atexit) sees "no context" instead of a
// destroyed object.
thread_local bool t_context_gone = false;

struct ThreadContextHolder {
  ThreadContext context;
  ~ThreadContextHolder() { t_context_gone = true; }
};
thread_local ThreadContextHolder t_holder;

}  // namespace

ThreadContext* thread_context() noexcept {
  if (t_context_gone) return nullptr;
  return &t_holder.context;
}

bool innermost_span(const SessionState* session, SpanId& out) noexcept {
  ThreadContext* ctx = thread_context();
  if (!ctx) return false;
  for (auto it = ctx->spans.rbegin(); it != ctx->spans.rend(); ++it) {
    if (it->session != session) continue;
    out = it->id;
    return true;
  }
  return false;
}

void stamp_span(Event& event, const SessionState* session) noexcept {
  ThreadContext* ctx = thread_context();
  if (!ctx || ctx->spans.empty()) return;
  auto& spans = ctx->spans;
  std::size_t i = spans.size();
  while (i > 0 && spans[i - 1].session != session) --i;
  if (i == 0) return;
  event.has_span = true;
  event.span_id = spans[i - 1].id;
  --i;
  while (i > 0 && spans[i - 1].session != session) --i;
  if (i > 0) {
    event.has_parent = true;
    event.parent_id = spans[i - 1].id;
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE

namespace promptetheus {
inline namespace v0 {

Context Context::capture() noexcept {
  Context context;
  try {
    if (auto* ctx = detail::thread_context()) {
      context.state_ = std::make_shared<const detail::ThreadContext>(*ctx);
    }
  } catch (...) {
  }
  return context;
}

ContextScope::ContextScope(const Context& context) noexcept {
  try {
    auto* ctx = detail::thread_context();
    if (!ctx) return;
    saved_ = std::make_shared<detail::ThreadContext>(std::move(*ctx));
    *ctx = context.state_ ? *context.state_ : detail::ThreadContext{};
  } catch (...) {
  }
}

ContextScope::~ContextScope() {
  try {
    auto* ctx = detail::thread_context();
    if (ctx && saved_) *ctx = std::move(*saved_);
  } catch (...) {
  }
}

SessionHandle current() noexcept {
  auto* ctx = detail::thread_context();
  if (!ctx || ctx->sessions.empty()) return SessionHandle{};
  return detail::SessionAccess::make(ctx->sessions.back());
}

namespace {
std::atomic<std::uint64_t> no_session_count{0};
std::atomic<bool> no_session_reported{false};
}  // namespace

SessionHandle current_for_recording() noexcept {
  auto* ctx = detail::thread_context();
  // A session left out by sampling is current too (a null entry): that is not "no session".
  if (ctx && !ctx->sessions.empty()) return detail::SessionAccess::make(ctx->sessions.back());
  no_session_count.fetch_add(1, std::memory_order_relaxed);
  if (!no_session_reported.exchange(true, std::memory_order_relaxed)) {
    detail::log_debug("a span, tool call or wrapped tool ran on a thread with no current session: it records "
                      "nothing (pass the session, or a Context to the thread; counted in Stats::no_session)");
  }
  return SessionHandle{};
}

namespace detail {
std::uint64_t no_session_calls() noexcept { return no_session_count.load(std::memory_order_relaxed); }
}  // namespace detail

}  // namespace v0
}  // namespace promptetheus
