#include "transport/spool_transport.hpp"

namespace promptetheus::detail {

void SpoolTransport::send(std::vector<EncodedEvent>& events, const Deadline&) noexcept {
  // Events arrive grouped by session: one append (one write) per run of a session.
  std::vector<const EncodedEvent*> run;
  std::size_t i = 0;
  while (i < events.size()) {
    run.clear();
    const std::string& session = events[i].session_id;
    while (i < events.size() && events[i].session_id == session) run.push_back(&events[i++]);
    if (spool_.append(session, run)) {
      counters().spooled_events.fetch_add(run.size(), std::memory_order_relaxed);
    } else {
      counters().dropped_io_error.fetch_add(run.size(), std::memory_order_relaxed);
    }
  }
}

}  // namespace promptetheus::detail
