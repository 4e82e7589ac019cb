#include "transport/spool_transport.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

// How long a send() waits, at least, for session files locked by another process. Spooling is
// this transport's only way to keep events, so it waits beyond a delivery pass's budget (400 ms,
// sized for a slow server) rather than drop them; during shutdown it waits as long as shutdown
// allows, and shutdown's interrupt() ends the wait when that runs out.
constexpr auto kLockPatience = std::chrono::seconds(2);

}  // namespace

void SpoolTransport::send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept {
  try {
    // One budget for the whole batch: a second locked session does not wait again.
    const LockWait wait{Deadline{std::max(deadline.at, Deadline::after(kLockPatience).at)}, &interrupted_};
    // One append (one write) per session in the batch, sessions in order of first appearance.
    std::vector<std::vector<EncodedEvent*>> groups;
    std::unordered_map<std::string_view, std::size_t> index;
    for (auto& e : events) {
      // Fast path: consecutive events of one session (one producer) skip the lookup.
      if (!groups.empty() && groups.back().front()->session_id == e.session_id) {
        groups.back().push_back(&e);
        continue;
      }
      auto [it, inserted] = index.emplace(e.session_id, groups.size());
      if (inserted) groups.emplace_back();
      groups[it->second].push_back(&e);
    }
    std::vector<const EncodedEvent*> view;
    for (const auto& group : groups) {
      // Interrupted (shutdown running out of time): the rest stays pending, the pipeline counts
      // it, and shutdown returns in time instead of creating thousands more files. The deadline
      // itself is not a reason to stop: spooling is this transport's only way to keep events.
      if (interrupted_.load(std::memory_order_acquire)) break;
      view.assign(group.begin(), group.end());
      const bool written = spool_.append(group.front()->session_id, view, false, wait);
      // Cut short by interrupt() while waiting for a lock: left pending, counted by the pipeline.
      if (!written && interrupted_.load(std::memory_order_acquire)) break;
      const DeliveryOutcome outcome = written ? DeliveryOutcome::spooled : DeliveryOutcome::dropped;
      for (EncodedEvent* e : group) e->outcome = outcome;
    }
  } catch (...) {
    for (auto& e : events) {
      if (e.outcome == DeliveryOutcome::pending) e.outcome = DeliveryOutcome::dropped;
    }
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
