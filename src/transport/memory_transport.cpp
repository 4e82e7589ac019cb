#include "transport/memory_transport.hpp"

namespace promptetheus::detail {

void MemoryTransport::send(std::vector<EncodedEvent>& events, const Deadline&) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.reserve(events_.size() + events.size());
    for (auto& e : events) events_.push_back(std::move(e));
    counters().delivered_events.fetch_add(events.size(), std::memory_order_relaxed);
    counters().delivered_batches.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    counters().dropped_io_error.fetch_add(events.size(), std::memory_order_relaxed);
  }
}

std::vector<EncodedEvent> MemoryTransport::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

}  // namespace promptetheus::detail
