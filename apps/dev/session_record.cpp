#include "dev/session_record.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "core/ids.hpp"

namespace promptetheus::devserver {

using nlohmann::json;

namespace {

// The state_change name of an event, or "".
std::string state_change_name(const json& event) {
  if (event.value("type", "") != "state_change") return {};
  const auto payload = event.find("payload");
  if (payload == event.end() || !payload->is_object()) return {};
  const auto name = payload->find("name");
  return name != payload->end() && name->is_string() ? name->get<std::string>() : std::string();
}

const json* payload_after(const json& event) {
  const auto payload = event.find("payload");
  if (payload == event.end() || !payload->is_object()) return nullptr;
  const auto after = payload->find("after");
  return after != payload->end() && after->is_object() ? &*after : nullptr;
}

}  // namespace

std::optional<long long> milliseconds_between(const std::string& from, const std::string& to) {
  const auto a = detail::parse_timestamp(from);
  const auto b = detail::parse_timestamp(to);
  if (!a || !b) return std::nullopt;
  return (*b - *a) / 1000;
}

bool changes_session_record(const json& event) {
  if (event.value("type", "") == "session_end") return true;
  const std::string name = state_change_name(event);
  return name == "session_started" || name == "tags_added" || name == "metadata_update";
}

void apply_to_session_record(json& trace, const json& event) {
  const std::string timestamp = event.value("timestamp", "");
  if (event.value("type", "") == "session_end") {
    const auto payload = event.find("payload");
    const json empty = json::object();
    const json& p = payload != event.end() && payload->is_object() ? *payload : empty;
    const auto status = p.find("status");
    trace["status"] = status != p.end() && status->is_string() ? status->get<std::string>() : "completed";
    const auto error = p.find("error");
    trace["error"] = error != p.end() && error->is_string() ? *error : json(nullptr);
    trace["ended_at"] = timestamp;
    // The run's own clock when its session_started was stored, else the trace's creation time.
    const auto start = trace.find("first_event_at");
    const std::string started = start != trace.end() && start->is_string() ? start->get<std::string>()
                                                                          : trace.value("started_at", "");
    const auto duration = milliseconds_between(started, timestamp);
    trace["duration_ms"] = duration && *duration >= 0 ? json(*duration) : json(nullptr);
    return;
  }
  const std::string name = state_change_name(event);
  if (name == "session_started") {
    trace["first_event_at"] = timestamp;
  } else if (name == "tags_added") {
    const json* after = payload_after(event);
    if (!after || !after->contains("tags") || !(*after)["tags"].is_array()) return;
    if (!trace["tags"].is_array()) trace["tags"] = json::array();
    json& tags = trace["tags"];
    for (const json& tag : (*after)["tags"]) {
      if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
    }
  } else if (name == "metadata_update") {
    const json* after = payload_after(event);
    if (!after) return;
    if (!trace["metadata"].is_object()) trace["metadata"] = json::object();
    for (const auto& [key, value] : after->items()) trace["metadata"][key] = value;
  }
}

}  // namespace promptetheus::devserver
