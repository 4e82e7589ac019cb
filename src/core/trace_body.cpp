#include "core/trace_body.hpp"

#include "core/json_writer.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

const nlohmann::json& field(const nlohmann::json& object, const char* key) {
  static const nlohmann::json null_value;
  if (!object.is_object()) return null_value;
  auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

}  // namespace

std::string make_trace_body(std::string_view session_id, const nlohmann::json& after,
                            const nlohmann::json& metadata) {
  // Writes `value`, or `fallback` when it is not of the type the API expects.
  auto write_or = [](std::string& out, const nlohmann::json& value, bool well_typed, const char* fallback) {
    if (well_typed) {
      write_json(out, value);
    } else {
      out += fallback;
    }
  };
  const nlohmann::json& goal = field(after, "user_goal");
  const nlohmann::json& tags = field(after, "tags");
  std::string body;
  body.reserve(256);
  body += "{\"id\":";
  write_json_string(body, session_id);
  body += ",\"agent\":";
  write_json(body, field(after, "agent"));
  body += ",\"user_goal\":";
  write_or(body, goal, goal.is_string(), "\"\"");
  body += ",\"project_id\":";
  write_json(body, field(after, "project_id"));
  body += ",\"environment\":";
  write_json(body, field(after, "environment"));
  body += ",\"metadata\":";
  write_or(body, metadata, metadata.is_object(), "{}");
  body += ",\"tags\":";
  write_or(body, tags, tags.is_array(), "[]");
  body += '}';
  return body;
}

std::string trace_body_from_event(const nlohmann::json& event) noexcept {
  try {
    if (!event.is_object() || field(event, "type") != "state_change") return {};
    const nlohmann::json& payload = field(event, "payload");
    if (field(payload, "name") != "session_started") return {};
    const nlohmann::json& sid = field(event, "session_id");
    if (!sid.is_string() || sid.get_ref<const std::string&>().empty()) return {};
    const nlohmann::json& after = field(payload, "after");
    const nlohmann::json& envelope_metadata = field(event, "metadata");
    const nlohmann::json& metadata =
        envelope_metadata.is_object() ? envelope_metadata : field(after, "metadata");
    return make_trace_body(sid.get_ref<const std::string&>(), after, metadata);
  } catch (...) {
    return {};
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
