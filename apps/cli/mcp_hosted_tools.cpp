#include "mcp_hosted_tools.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <utility>
#include <vector>

#include "cli_http.hpp"

namespace promptetheus::cli::mcp {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kHostedService = "promptetheus-hosted-api";
constexpr std::int64_t kDefaultLimit = 20;
constexpr std::int64_t kMaxLimit = 100;
constexpr std::size_t kMaxServices = 10;

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n\f\v");
  return text.substr(first, last - first + 1);
}

// An argument that fails its type check: the call answers with a tool error naming it.
struct BadArgument {
  std::string message;
};

// A string-or-null argument: nullopt when absent or null.
std::optional<std::string> optional_string(const json& arguments, const char* name) {
  const auto it = arguments.find(name);
  if (it == arguments.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw BadArgument{std::string(name) + " must be a string or null"};
  return it->get<std::string>();
}

// The reference's limit rule: an integer is clamped to [1, 100]; a bool, a non-integer or an
// absent value means the default, 20.
std::int64_t clamped_limit(const json& arguments) {
  const auto it = arguments.find("limit");
  if (it == arguments.end() || it->is_boolean() || !it->is_number_integer()) return kDefaultLimit;
  if (it->is_number_unsigned()) {
    return it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxLimit) ? kMaxLimit
                                                                           : std::max<std::int64_t>(1, it->get<std::int64_t>());
  }
  return std::clamp<std::int64_t>(it->get<std::int64_t>(), 1, kMaxLimit);
}

// services: trimmed, non-strings and empty names dropped, at most ten; nullopt (the key is left
// out) when nothing remains.
std::optional<ordered_json> cleaned_services(const json& arguments) {
  const auto it = arguments.find("services");
  if (it == arguments.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) throw BadArgument{"services must be an array of strings or null"};
  ordered_json services = ordered_json::array();
  for (const json& entry : *it) {
    if (services.size() == kMaxServices) break;
    if (!entry.is_string()) continue;
    std::string name = trimmed(entry.get<std::string>());
    if (!name.empty()) services.push_back(std::move(name));
  }
  if (services.empty()) return std::nullopt;
  return services;
}

// The request body: keys in the reference's order, a null (absent) value left out.
class Body {
 public:
  void add_if_set(const char* key, const std::optional<std::string>& value) {
    if (value) body_[key] = *value;
  }
  void add_if_set(const char* key, const std::optional<ordered_json>& value) {
    if (value) body_[key] = *value;
  }
  void add(const char* key, ordered_json value) { body_[key] = std::move(value); }
  // Compact, ASCII-only (non-ASCII as \uXXXX), as Python's json.dumps with "," and ":" writes it.
  std::string text() const {
    return body_.dump(-1, ' ', true, ordered_json::error_handler_t::replace);
  }

 private:
  ordered_json body_ = ordered_json::object();
};

json failure(const json& source, const json& status, const char* type, const std::string& message) {
  return json{{"ok", false}, {"status", status}, {"source", source},
              {"error", {{"type", type}, {"message", message}}}};
}

// The first non-empty string among an error body's message, error and detail fields, else the
// raw body, else a fixed sentence.
std::string http_error_message(const std::string& body) {
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    for (const char* field : {"message", "error", "detail"}) {
      const auto it = parsed.find(field);
      if (it != parsed.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
    }
  }
  if (!trimmed(body).empty()) return body;
  return "Promptetheus API request failed.";
}

// What the tool answers for one POST, following every output rule of contract §8.1.
json outcome_of(const std::string& url, const HttpReply& reply) {
  const json source{{"service", kHostedService}, {"method", "POST"}, {"url", url}};
  if (reply.status == 0) {
    const std::string message = reply.reason.empty() ? (reply.timed_out ? "Timeout" : "ConnectError") : reply.reason;
    return failure(source, nullptr, "unavailable", message);
  }
  const bool ok = reply.status >= 200 && reply.status < 300;
  if (!ok) return failure(source, reply.status, "http_error", http_error_message(reply.body));
  if (trimmed(reply.body).empty()) return json{{"ok", true}, {"status", reply.status}, {"source", source}};
  json parsed = json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded() || reply.body_truncated) {
    return failure(source, reply.status, "invalid_json", "Promptetheus API returned a non-JSON response.");
  }
  if (!parsed.is_object()) {
    return json{{"ok", ok}, {"status", reply.status}, {"source", source}, {"data", std::move(parsed)}};
  }
  // The server's own ok, status and source win: they are added only when absent.
  if (!parsed.contains("ok")) parsed["ok"] = ok;
  if (!parsed.contains("status")) parsed["status"] = reply.status;
  if (!parsed.contains("source")) parsed["source"] = source;
  return parsed;
}

struct Endpoint {
  std::string api_url;
  std::string api_key;
  std::chrono::milliseconds timeout;

  json post(const std::string& path, const Body& body) const {
    const std::string url = api_url + path;
    try {
      const HttpCaller caller{"promptetheus-mcp/0.0.1", {"X-Promptetheus-Client: mcp"}};
      return outcome_of(url, http_post_json(url, body.text(), api_key, timeout, caller));
    } catch (const std::exception& e) {
      const json source{{"service", kHostedService}, {"method", "POST"}, {"url", url}};
      const std::string message = *e.what() ? e.what() : "exception";
      return failure(source, nullptr, "unexpected_error", message);
    }
  }
};

// A tool whose argument reading may reject a wrong type; the POST itself never fails the call.
Tool make_tool(std::string name, std::string title, std::string description, json input_schema,
               std::function<json(const json&)> run) {
  Tool tool;
  tool.name = std::move(name);
  tool.title = std::move(title);
  tool.description = std::move(description);
  tool.input_schema = std::move(input_schema);
  tool.call = [run = std::move(run)](const json& arguments) -> ToolResult {
    try {
      return ToolResult::ok(run(arguments));
    } catch (const BadArgument& bad) {
      return ToolResult::error(bad.message);
    } catch (const std::exception& e) {
      return ToolResult::error(std::string("unexpected error: ") + e.what());
    }
  };
  return tool;
}

json nullable_string() {
  return json{{"anyOf", json::array({json{{"type", "string"}}, json{{"type", "null"}}})}, {"default", nullptr}};
}

// No minimum or maximum: as in the reference, an out-of-range limit is clamped, not refused.
json limit_schema() { return json{{"type", "integer"}, {"default", kDefaultLimit}}; }

json object_schema(json properties, json required = json::array()) {
  json schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

}  // namespace

std::optional<std::string> hosted_config_error(const Options& options) {
  const bool has_url = !trimmed(options.api_url).empty();
  const bool has_key = !trimmed(options.api_key).empty();
  if (has_url && has_key) return std::nullopt;
  const char* missing = !has_url && !has_key ? "PROMPTETHEUS_API_URL and PROMPTETHEUS_API_KEY"
                        : !has_key          ? "PROMPTETHEUS_API_KEY"
                                            : "PROMPTETHEUS_API_URL";
  return std::string("promptetheus mcp requires ") + missing +
         ". Set the hosted Promptetheus API key via environment variables or ~/.promptetheus/config.toml. "
         "Use PROMPTETHEUS_API_URL only to override the hosted default. "
         "Do not provide database service-role keys.";
}

ToolSet hosted_tools(const std::string& api_url, const std::string& api_key, std::chrono::milliseconds timeout) {
  std::string base = trimmed(api_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  const Endpoint endpoint{std::move(base), trimmed(api_key), timeout};

  ToolSet tools;
  tools.push_back(make_tool(
      "get_failure_context", "Failure context",
      "Fetch the hosted failure context of an incident, session or run.",
      object_schema({{"incident_id", nullable_string()}, {"session_id", nullable_string()}, {"run_id", nullable_string()}}),
      [endpoint](const json& args) {
        Body body;
        body.add_if_set("incident_id", optional_string(args, "incident_id"));
        body.add_if_set("session_id", optional_string(args, "session_id"));
        body.add_if_set("run_id", optional_string(args, "run_id"));
        return endpoint.post("/mcp/failure-context", body);
      }));
  tools.push_back(make_tool(
      "get_promptetheus_evidence", "Promptetheus evidence",
      "Fetch the evidence collected for an incident or session, optionally for some services (at most 10).",
      object_schema({{"incident_id", nullable_string()},
                     {"project_ref", nullable_string()},
                     {"session_id", nullable_string()},
                     {"services", {{"anyOf", json::array({json{{"type", "array"}, {"items", {{"type", "string"}}}},
                                                          json{{"type", "null"}}})},
                                   {"default", nullptr}}},
                     {"limit", limit_schema()}}),
      [endpoint](const json& args) {
        Body body;
        body.add_if_set("incident_id", optional_string(args, "incident_id"));
        body.add_if_set("project_ref", optional_string(args, "project_ref"));
        body.add_if_set("session_id", optional_string(args, "session_id"));
        body.add_if_set("services", cleaned_services(args));
        body.add("limit", clamped_limit(args));
        return endpoint.post("/mcp/promptetheus/evidence", body);
      }));
  tools.push_back(make_tool(
      "search_promptetheus_logs", "Search Promptetheus logs",
      "Search the logs of one service, optionally by query, project, incident and time range.",
      object_schema({{"service", {{"type", "string"}}},
                     {"query", nullable_string()},
                     {"project_ref", nullable_string()},
                     {"incident_id", nullable_string()},
                     {"start_time", nullable_string()},
                     {"end_time", nullable_string()},
                     {"limit", limit_schema()}},
                    json::array({"service"})),
      [endpoint](const json& args) {
        const auto service = args.find("service");
        if (service == args.end() || !service->is_string()) throw BadArgument{"service is required and must be a string"};
        Body body;
        body.add("service", service->get<std::string>());
        body.add_if_set("query", optional_string(args, "query"));
        body.add_if_set("project_ref", optional_string(args, "project_ref"));
        body.add_if_set("incident_id", optional_string(args, "incident_id"));
        body.add_if_set("start_time", optional_string(args, "start_time"));
        body.add_if_set("end_time", optional_string(args, "end_time"));
        body.add("limit", clamped_limit(args));
        return endpoint.post("/mcp/promptetheus/logs/search", body);
      }));
  tools.push_back(make_tool(
      "get_promptetheus_advisors", "Promptetheus advisors",
      "Fetch the security or performance advisors of a project or incident.",
      object_schema({{"advisor_type", {{"type", "string"}, {"default", "security"}}},
                     {"project_ref", nullable_string()},
                     {"incident_id", nullable_string()}}),
      [endpoint](const json& args) {
        // Anything but the two known advisor types asks for the security advisors.
        const std::string requested = optional_string(args, "advisor_type").value_or("security");
        Body body;
        body.add("type", requested == "performance" ? "performance" : "security");
        body.add_if_set("project_ref", optional_string(args, "project_ref"));
        body.add_if_set("incident_id", optional_string(args, "incident_id"));
        return endpoint.post("/mcp/promptetheus/advisors", body);
      }));
  tools.push_back(make_tool(
      "get_fix_brief", "Fix brief",
      "Fetch the fix brief of an incident or session, with its evidence unless include_evidence is false.",
      object_schema({{"incident_id", nullable_string()},
                     {"session_id", nullable_string()},
                     {"include_evidence", {{"type", "boolean"}, {"default", true}}}}),
      [endpoint](const json& args) {
        bool include_evidence = true;
        const auto it = args.find("include_evidence");
        if (it != args.end() && !it->is_null()) {
          if (!it->is_boolean()) throw BadArgument{"include_evidence must be a boolean"};
          include_evidence = it->get<bool>();
        }
        Body body;
        body.add_if_set("incident_id", optional_string(args, "incident_id"));
        body.add_if_set("session_id", optional_string(args, "session_id"));
        body.add("include_evidence", include_evidence);
        return endpoint.post("/mcp/fix-brief", body);
      }));
  return tools;
}

}  // namespace promptetheus::cli::mcp
