#include "core/event.hpp"

namespace promptetheus::detail {

const char* event_type_name(EventType type) noexcept {
  // The names are string literals, so their data() is NUL-terminated.
  auto index = static_cast<int>(type);
  return index >= 0 && index < kEventTypeCount ? kEventTypes[index].data() : "state_change";
}

}  // namespace promptetheus::detail
