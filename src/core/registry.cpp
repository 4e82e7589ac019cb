#include "core/registry.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "core/pipeline.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

struct Registry {
  std::mutex mutex;
  std::shared_ptr<Pipeline> default_pipeline;
  std::vector<std::weak_ptr<Pipeline>> live;
  bool atexit_registered = false;
};

// Leaked on purpose: the atexit hook and late callers may run after static destructors.
Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    // Hold the lock across fork() so that the child never inherits it locked by another thread.
    pthread_atfork([] { registry().mutex.lock(); }, [] { registry().mutex.unlock(); },
                   [] { registry().mutex.unlock(); });
    return reg;
  }();
  return *r;
}

// Shuts every live pipeline down within one total bound (the longest shutdown_timeout asked
// for, at most 5 s), writing what could not be delivered to the spool.
void shutdown_all_at_exit() {
  std::vector<std::shared_ptr<Pipeline>> pipelines;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    for (auto& weak : registry().live) {
      if (auto p = weak.lock()) pipelines.push_back(std::move(p));
    }
  }
  auto budget = std::chrono::milliseconds(0);
  for (auto& p : pipelines) budget = std::max(budget, p->options().shutdown_timeout);
  budget = std::min(budget, std::chrono::milliseconds(5000));
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (auto& p : pipelines) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    (void)p->shutdown(std::max(left, std::chrono::milliseconds(0)));
  }
}

}  // namespace

void register_pipeline(const std::shared_ptr<Pipeline>& pipeline) noexcept {
  try {
    std::lock_guard<std::mutex> lock(registry().mutex);
    auto& live = registry().live;
    live.erase(std::remove_if(live.begin(), live.end(), [](const auto& w) { return w.expired(); }), live.end());
    live.push_back(pipeline);
    if (pipeline->options().flush_at_exit && !registry().atexit_registered) {
      // Both ways a program ends normally: exit() runs atexit hooks, std::quick_exit() only
      // at_quick_exit ones.
      registry().atexit_registered =
          std::atexit(shutdown_all_at_exit) == 0 && std::at_quick_exit(shutdown_all_at_exit) == 0;
    }
  } catch (...) {
  }
}

void unregister_pipeline(const Pipeline* pipeline) noexcept {
  try {
    std::lock_guard<std::mutex> lock(registry().mutex);
    auto& live = registry().live;
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const auto& w) {
                                auto p = w.lock();
                                return !p || p.get() == pipeline;
                              }),
               live.end());
  } catch (...) {
  }
}

std::shared_ptr<Pipeline> exchange_default_pipeline(std::shared_ptr<Pipeline> pipeline) noexcept {
  std::lock_guard<std::mutex> lock(registry().mutex);
  std::swap(registry().default_pipeline, pipeline);
  return pipeline;
}

std::shared_ptr<Pipeline> default_pipeline() noexcept {
  std::shared_ptr<Pipeline> p;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    p = registry().default_pipeline;
  }
  return p ? p->active_shared() : nullptr;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
