#include "analysis/fix_brief.hpp"

#include "analysis/readable_text.hpp"

namespace promptetheus::analysis {

namespace {

using json = nlohmann::json;

// A member as text: a string as it is, anything else as compact JSON, "" when null or absent.
std::string text_of(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, json::error_handler_t::replace);
}

const json& list_of(const json& object, const char* key) {
  static const json kEmpty = json::array();
  if (!object.is_object()) return kEmpty;
  const auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : kEmpty;
}

}  // namespace

json fix_brief(const json& context, const std::optional<std::string>& passing_session_id) {
  const std::string id = text_of(context, "session_id");
  const bool failed = context.value("failed", false);
  const json& fp = context.contains("fingerprint") ? context["fingerprint"] : json::object();
  const json& end = context.contains("end") ? context["end"] : json(nullptr);
  const json& session = context.contains("session") ? context["session"] : json::object();

  json brief = json::object();
  brief["session_id"] = id;
  brief["failed"] = failed;
  brief["title"] = failed ? text_of(fp, "label") : "No failure detected";

  std::string summary;
  const std::string agent = text_of(session, "agent");
  summary += (agent.empty() ? std::string("The run") : "The " + agent + " run") + " " + id;
  const std::string status = text_of(end, "status");
  const std::string end_error = text_of(end, "error");
  summary += status.empty() ? " has no session_end" : " ended " + status;
  summary += end_error.empty() ? "." : ": " + one_line(end_error) + ".";

  json steps = json::array();
  for (const json& call : list_of(context, "failed_tool_calls")) {
    const std::string tool = text_of(call, "tool_name");
    const std::string error = one_line(text_of(call, "error"));
    summary += " The tool " + (tool.empty() ? std::string("call") : tool) + " failed (seq " + text_of(call, "seq") +
               "): " + error + ".";
    const std::string args = one_line(text_of(call, "arguments"));
    steps.push_back("Find why " + (tool.empty() ? std::string("the tool") : tool) + " failed with \"" + error + "\"" +
                    (args.empty() ? std::string() : " for the arguments " + args) +
                    ", and how the agent should handle that failure.");
  }
  for (const json& error : list_of(context, "errors")) {
    const std::string kind = text_of(error, "error_type");
    const std::string message = one_line(text_of(error, "message"));
    summary += " An error was recorded (seq " + text_of(error, "seq") + "): " + (kind.empty() ? "" : kind + ": ") +
               message + ".";
    steps.push_back("Read the error's traceback (seq " + text_of(error, "seq") + ") to find where " +
                    (kind.empty() ? std::string("it") : kind) + " is raised.");
  }
  for (const json& check : list_of(context, "failed_goal_checks")) {
    std::string mismatches;
    for (const json& m : list_of(check, "mismatches")) {
      mismatches += (mismatches.empty() ? "" : "; ") + one_line(m.is_string() ? m.get<std::string>() : m.dump());
    }
    summary += " The goal check failed (seq " + text_of(check, "seq") + ")" +
               (mismatches.empty() ? std::string(".") : ": " + mismatches + ".");
    steps.push_back("Check the step that produced the result the goal check rejected" +
                    (mismatches.empty() ? std::string(".") : " (" + mismatches + ")."));
  }

  json first = nullptr;
  for (const json& entry : list_of(context, "events_before_failure")) {
    if (entry.value("failure", false)) {
      first = json{{"seq", entry.contains("seq") ? entry["seq"] : json(nullptr)},
                   {"type", text_of(entry, "type")},
                   {"text", text_of(entry, "text")}};
      break;
    }
  }
  brief["first_failure"] = first;

  json commands = json::array();
  commands.push_back("promptetheus replay " + id);
  if (passing_session_id) {
    steps.push_back("Compare with the run " + *passing_session_id + " of the same agent, which passed.");
    commands.push_back("promptetheus diff " + *passing_session_id + " " + id);
  }
  commands.push_back("promptetheus report " + id);
  if (!failed) steps = json::array({"Nothing failed in this run: no fix is needed."});
  brief["summary"] = summary;
  brief["next_steps"] = std::move(steps);
  brief["commands"] = std::move(commands);
  return brief;
}

}  // namespace promptetheus::analysis
