// The replaced global operator new/delete of alloc_fault_tests (see alloc_fault.hpp). Every form
// allocates with malloc/posix_memalign and frees with free, so any new/delete pairing works.
#include "alloc_fault/alloc_fault.hpp"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace alloc_fault {
namespace {

// The calling thread's fault: allocations that still succeed (negative: disarmed).
thread_local long t_left = -1;
thread_local bool t_persistent = false;
thread_local unsigned long t_failures = 0;

// One other thread's fault, set from the test thread.
std::atomic<std::thread::id> g_thread{};
std::atomic<long> g_left{-1};
std::atomic<bool> g_persistent{false};
std::atomic<unsigned long> g_failures{0};

bool thread_fails() noexcept {
  if (t_left < 0) return false;
  if (t_left > 0) {
    --t_left;
    return false;
  }
  ++t_failures;
  if (!t_persistent) t_left = -1;
  return true;
}

bool remote_fails() noexcept {
  long left = g_left.load(std::memory_order_acquire);
  if (left < 0 || g_thread.load(std::memory_order_relaxed) != std::this_thread::get_id()) return false;
  for (;;) {
    if (left < 0) return false;
    if (left > 0) {
      if (g_left.compare_exchange_weak(left, left - 1)) return false;
      continue;
    }
    if (g_persistent.load() || g_left.compare_exchange_weak(left, -1)) {
      g_failures.fetch_add(1);
      return true;
    }
  }
}

bool should_fail() noexcept { return thread_fails() || remote_fails(); }

void* allocate(std::size_t size) {
  if (should_fail()) throw std::bad_alloc();
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  return p;
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
  if (should_fail()) throw std::bad_alloc();
  std::size_t align = static_cast<std::size_t>(alignment);
  if (align < sizeof(void*)) align = sizeof(void*);
  void* p = nullptr;
  if (::posix_memalign(&p, align, size ? size : 1) != 0) throw std::bad_alloc();
  return p;
}

}  // namespace

void arm(long n, Mode mode) noexcept {
  t_failures = 0;
  t_persistent = mode == Mode::persistent;
  t_left = n;
}

unsigned long disarm() noexcept {
  t_left = -1;
  return t_failures;
}

void arm_thread(std::thread::id id, long n, Mode mode) noexcept {
  g_left.store(-1);
  g_failures.store(0);
  g_persistent.store(mode == Mode::persistent);
  g_thread.store(id);
  g_left.store(n, std::memory_order_release);
}

unsigned long disarm_thread() noexcept {
  g_left.store(-1);
  return g_failures.load();
}

}  // namespace alloc_fault

void* operator new(std::size_t size) { return alloc_fault::allocate(size); }
void* operator new[](std::size_t size) { return alloc_fault::allocate(size); }
void* operator new(std::size_t size, std::align_val_t a) { return alloc_fault::allocate_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return alloc_fault::allocate_aligned(size, a); }

void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return alloc_fault::allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return alloc_fault::allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return alloc_fault::allocate_aligned(size, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return alloc_fault::allocate_aligned(size, a);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
