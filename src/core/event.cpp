#include "core/event.hpp"

namespace promptetheus::detail {

const char* event_type_name(EventType type) noexcept {
  static const char* const names[kEventTypeCount] = {
      "user_message", "agent_message", "tool_call",   "tool_result",   "retrieval", "browser_action",
      "dom_snapshot", "screenshot",    "replay_artifact", "goal_check", "state_change", "session_end",
      "llm_call",     "score",         "error",       "metric"};
  auto index = static_cast<int>(type);
  return index >= 0 && index < kEventTypeCount ? names[index] : "state_change";
}

}  // namespace promptetheus::detail
