// Context: carries the current session and span stack into other threads (contract §2.7).
#pragma once

#include <memory>

#include "promptetheus/export.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
struct ThreadContext;
PROMPTETHEUS_END_DETAIL_NAMESPACE

PROMPTETHEUS_BEGIN_NAMESPACE

/// A copy of the calling thread's current session and open spans. Copyable; thread-safe to copy
/// and to hand to other threads. A new thread sees no session unless it installs a Context.
class PROMPTETHEUS_API Context {
 public:
  /// Captures the calling thread's state. Never throws (an empty Context on failure).
  static Context capture() noexcept;
  Context() noexcept = default;

 private:
  friend class ContextScope;
  std::shared_ptr<const detail::ThreadContext> state_;
};

/// Installs a Context on the calling thread for its lifetime, then restores what was there.
/// Spans opened inside nest under the captured ones. Not copyable or movable. Never throws.
class PROMPTETHEUS_API ContextScope {
 public:
  explicit ContextScope(const Context& context) noexcept;
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  std::shared_ptr<detail::ThreadContext> saved_;
};

PROMPTETHEUS_END_NAMESPACE
