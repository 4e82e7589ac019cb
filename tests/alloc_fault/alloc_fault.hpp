// Allocation-failure injection for the alloc_fault_tests executable, which replaces the global
// operator new/delete (alloc_fault.cpp): an armed thread's allocations succeed `n` more times,
// then throw std::bad_alloc (the nothrow forms return null) — once, or on every allocation until
// disarmed. The calling thread arms itself; another thread (the pipeline's worker) is armed by id.
#pragma once

#include <thread>

namespace alloc_fault {

enum class Mode {
  once,        ///< only the (n+1)th allocation fails
  persistent,  ///< the (n+1)th allocation and every later one fail
};

/// Arms the calling thread.
void arm(long n, Mode mode) noexcept;
/// Disarms the calling thread; returns how many allocations failed since arm().
unsigned long disarm() noexcept;

/// Arms the thread `id` (from any thread).
void arm_thread(std::thread::id id, long n, Mode mode) noexcept;
/// Disarms it; returns how many of its allocations failed since arm_thread().
unsigned long disarm_thread() noexcept;

inline const char* name(Mode mode) { return mode == Mode::once ? "once" : "persistent"; }

}  // namespace alloc_fault
