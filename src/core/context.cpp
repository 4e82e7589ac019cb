#include <algorithm>

#include "core/access.hpp"
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

}  // namespace v0
}  // namespace promptetheus
