#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

const char* event_type_name(EventType type) noexcept {
  // The names are string literals, so their data() is NUL-terminated.
  auto index = static_cast<int>(type);
  return index >= 0 && index < kEventTypeCount ? kEventTypes[index].data() : "state_change";
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
