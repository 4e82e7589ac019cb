#include "transport/memory_transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

void MemoryStore::append(std::vector<EncodedEvent>& events) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.reserve(events_.size() + events.size());
  for (auto& e : events) {
    e.outcome = DeliveryOutcome::delivered;
    events_.push_back(std::move(e));  // the outcome stays on the moved-from event
  }
}

std::vector<EncodedEvent> MemoryStore::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

void MemoryTransport::send(std::vector<EncodedEvent>& events, const Deadline&) noexcept {
  try {
    store_->append(events);
  } catch (...) {
    for (auto& e : events) e.outcome = DeliveryOutcome::dropped;
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
