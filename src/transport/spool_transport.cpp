#include "transport/spool_transport.hpp"

#include <unordered_map>

namespace promptetheus::detail {

void SpoolTransport::send(std::vector<EncodedEvent>& events, const Deadline&) noexcept {
  try {
    // One append (one write) per session in the batch, sessions in order of first appearance.
    std::vector<std::vector<const EncodedEvent*>> groups;
    std::unordered_map<std::string_view, std::size_t> index;
    for (const auto& e : events) {
      // Fast path: consecutive events of one session (one producer) skip the lookup.
      if (!groups.empty() && groups.back().front()->session_id == e.session_id) {
        groups.back().push_back(&e);
        continue;
      }
      auto [it, inserted] = index.emplace(e.session_id, groups.size());
      if (inserted) groups.emplace_back();
      groups[it->second].push_back(&e);
    }
    for (const auto& group : groups) {
      if (spool_.append(group.front()->session_id, group)) {
        counters().spooled_events.fetch_add(group.size(), std::memory_order_relaxed);
      } else {
        counters().dropped_io_error.fetch_add(group.size(), std::memory_order_relaxed);
      }
    }
  } catch (...) {
    counters().dropped_io_error.fetch_add(events.size(), std::memory_order_relaxed);
  }
}

}  // namespace promptetheus::detail
