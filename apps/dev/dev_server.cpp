#include "dev/dev_server.hpp"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "core/event_validation.hpp"
#include "core/files.hpp"
#include "core/json_writer.hpp"
#include "core/percent_decoding.hpp"
#include "dev/artifact_paths.hpp"
#include "dev/console_api.hpp"
#include "dev/dev_store.hpp"
#include "dev/http_server.hpp"
#include "dev/otlp_receiver.hpp"
#include "dev/session_record.hpp"
#include "dev/wide_integers.hpp"

namespace promptetheus::devserver {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Why `host:port` cannot be listened on (`error_number` from HttpServer's ListenError), as
// `promptetheus dev` reports it.
std::string bind_failure(const std::string& host, int port, int error_number) {
  if (error_number == EADDRINUSE) {
    return "port " + std::to_string(port) + " is in use (is another promptetheus dev running?)";
  }
  const std::string where = host + ":" + std::to_string(port);
  if (error_number == 0) return "cannot listen on " + where + ": unknown host";
  return "cannot listen on " + where + ": " + std::strerror(error_number);
}

// The dev server has a single tenant: every principal works in this workspace and project.
constexpr const char* kWorkspace = "ws_dev";
constexpr const char* kProject = "proj_dev";

const std::vector<std::string> kArtifactContentTypes = {"video/webm", "image/png", "image/jpeg"};


std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(Response& res, int status, const std::string& detail) {
  send_json(res, status, json{{"detail", detail}});
  if (status == 413) res.set_header("Connection", "close");
}

void send_error(Response& res, const HttpError& error) {
  send_error(res, error.status, error.detail);
}

// The decoded segments of the request target's path: "/api/traces/a%2Fb/events?x" →
// {"api", "traces", "a/b", "events"}.
std::vector<std::string> path_segments(const std::string& target) {
  const std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  if (path.empty() || path[0] != '/') return segments;
  std::size_t start = 1;
  for (;;) {
    const auto slash = path.find('/', start);
    segments.push_back(detail::percent_decode(path.substr(start, slash - start)));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return segments;
}

std::string utc_now_seconds() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

bool is_non_bool_integer(const json& v) { return v.is_number_integer(); }

// The media type of a Content-Type value, without parameters, lowercased.
std::string media_type(const std::string& content_type) {
  return lowercase(trim(content_type.substr(0, content_type.find(';'))));
}

enum class Route {
  health, traces, trace, events, artifacts, sessions, bootstrap,
  // the console: its static files and its read routes
  console_asset, analysis, console_sessions, failures, diff, artifact_file,
  // what the reference's MCP proxy calls on a hosted API, answered from this server's data
  mcp_failure_context, mcp_fix_brief,
  // the OTLP/HTTP trace receiver
  otlp_traces,
  not_found
};

bool is_console_read(Route route) {
  return route == Route::analysis || route == Route::console_sessions || route == Route::failures ||
         route == Route::diff || route == Route::artifact_file;
}

Route match_route(const std::vector<std::string>& s) {
  const auto n = s.size();
  if (n == 1 && s[0] == "health") return Route::health;
  if (n == 1 && (s[0].empty() || s[0] == "index.html" || s[0] == "console.js" || s[0] == "console.css")) {
    return Route::console_asset;
  }
  if (n == 3 && s[0] == "api" && s[1] == "console" && s[2] == "sessions") return Route::console_sessions;
  if (n == 2 && s[0] == "api" && s[1] == "failures") return Route::failures;
  if (n == 2 && s[0] == "api" && s[1] == "diff") return Route::diff;
  if (n == 3 && s[0] == "api" && s[1] == "onboarding" && s[2] == "bootstrap") return Route::bootstrap;
  if (n == 2 && s[0] == "mcp" && s[1] == "failure-context") return Route::mcp_failure_context;
  if (n == 2 && s[0] == "mcp" && s[1] == "fix-brief") return Route::mcp_fix_brief;
  if (n == 2 && s[0] == "v1" && s[1] == "traces") return Route::otlp_traces;
  if (n >= 2 && s[0] == "api" && s[1] == "sessions" && n == 2) return Route::sessions;
  if (n < 2 || s[0] != "api" || s[1] != "traces") return Route::not_found;
  if (n == 2) return Route::traces;
  if (s[2].empty()) return Route::not_found;
  if (n == 3) return Route::trace;
  if (n == 4 && s[3] == "events") return Route::events;
  if (n == 4 && s[3] == "artifacts") return Route::artifacts;
  if (n == 4 && s[3] == "analysis") return Route::analysis;
  if (n == 5 && s[3] == "artifacts" && !s[4].empty()) return Route::artifact_file;
  return Route::not_found;
}

}  // namespace

struct DevServer::Impl {
  DevServerOptions options;
  std::unique_ptr<DevStore> store;
  std::unique_ptr<ConsoleApi> console;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> running{false};
  std::atomic<int> port{0};
  std::mutex lifecycle;

  // --- one request --------------------------------------------------------------------------

  // The body of a request, read at most once; every request body is drained before answering so
  // the response is never cut off by a reset of a connection with unread input.
  struct Exchange {
    const Request& req;
    Response& res;
    bool body_consumed = false;
  };

  std::optional<HttpError> read_raw(Exchange& ex, RawBody& body) {
    ex.body_consumed = true;
    return read_body(ex.req, options.limits, body);
  }

  std::optional<HttpError> read_json(Exchange& ex, json& out,
                                     std::vector<WideInteger>* wide = nullptr) {
    RawBody body;
    if (auto error = read_raw(ex, body)) return error;
    return parse_json_object(body, options.limits, out, wide);
  }

  void drain(Exchange& ex) {
    if (ex.body_consumed) return;
    ex.body_consumed = true;
    BodyLimits drain_limits = options.limits;
    RawBody ignored;
    read_body(ex.req, drain_limits, ignored);
  }

  void handle(const Request& req, Response& res) {
    if (lowercase(req.get_header_value("Content-Type")).rfind("multipart/", 0) == 0) {
      send_error(res, 415, "multipart request bodies are not supported");
      res.set_header("Connection", "close");
      return;
    }
    Exchange ex{req, res};
    try {
      dispatch(ex);
    } catch (const std::exception& e) {
      std::cerr << "promptetheus dev: internal error on " << req.method << " request: " << e.what()
                << '\n';
      send_error(res, 500, "internal server error");
    }
    try {
      drain(ex);
    } catch (...) {
    }
  }

  void dispatch(Exchange& ex) {
    const auto segments = path_segments(ex.req.target);
    const Route route = match_route(segments);
    const std::string& method = ex.req.method;

    const auto method_is = [&](const char* m) { return method == m; };
    bool allowed = false;
    switch (route) {
      case Route::health:
      case Route::trace:
      case Route::sessions:
      case Route::console_asset:
      case Route::analysis:
      case Route::console_sessions:
      case Route::failures:
      case Route::diff:
      case Route::artifact_file: allowed = method_is("GET"); break;
      case Route::traces:
      case Route::events: allowed = method_is("GET") || method_is("POST"); break;
      case Route::artifacts:
      case Route::bootstrap:
      case Route::mcp_failure_context:
      case Route::mcp_fix_brief:
      case Route::otlp_traces: allowed = method_is("POST"); break;
      case Route::not_found: return send_error(ex.res, 404, "Not Found");
    }
    if (!allowed) return send_error(ex.res, 405, "Method Not Allowed");
    if (route == Route::health) return send_json(ex.res, 200, json{{"status", "ok"}});
    // The console's static files hold no data: served to anyone (the page then asks for a token
    // when the server is not on loopback).
    if (route == Route::console_asset) {
      const std::string path = ex.req.target.substr(0, ex.req.target.find('?'));
      if (!serve_console_asset(path, ex.res)) send_error(ex.res, 404, "Not Found");
      return;
    }

    // Ingestion routes take project keys and console tokens; reading is a console feature.
    const bool is_read = method_is("GET");
    const std::string authorization = ex.req.get_header_value("Authorization");
    // OpenTelemetry exporters are configured with an endpoint and rarely with headers: on a
    // loopback bind they send spans without a credential, as the console reads without one.
    if (route == Route::otlp_traces && !ex.req.has_header("Authorization") &&
        console_read_without_credential(options.host, ex.req.get_header_value("Host"))) {
      return receive_otlp(ex);
    }
    // On a loopback bind the console's own read routes need no credential (from a loopback Host).
    if (is_console_read(route) && !ex.req.has_header("Authorization") &&
        console_read_without_credential(options.host, ex.req.get_header_value("Host"))) {
      return dispatch_console(ex, route, segments);
    }
    const Principal who = authenticate(authorization, options.credentials);
    if (who == Principal::none) {
      ex.res.set_header("WWW-Authenticate", "Bearer");
      return send_error(ex.res, 401, "missing or invalid credential");
    }
    // Bootstrapping a project is a console feature too (it hands out the project key).
    const bool console_only = is_read || route == Route::bootstrap;
    const bool permitted =
        console_only ? who == Principal::console : (who == Principal::api_key || who == Principal::console);
    if (!permitted) return send_error(ex.res, 403, "principal is not allowed for this endpoint");
    if (is_console_read(route)) return dispatch_console(ex, route, segments);

    const std::string id = segments.size() > 2 ? segments[2] : std::string();
    switch (route) {
      case Route::traces: return is_read ? list_traces(ex, "traces") : create_trace(ex, who);
      case Route::sessions: return list_traces(ex, "sessions");
      case Route::trace: return get_trace(ex, id);
      case Route::events: return is_read ? get_events(ex, id) : post_events(ex, id);
      case Route::artifacts: return post_artifact(ex, id);
      case Route::bootstrap: return bootstrap(ex);
      case Route::mcp_failure_context:
      case Route::mcp_fix_brief: return mcp_evidence(ex, route);
      case Route::otlp_traces: return receive_otlp(ex);
      default: return send_error(ex.res, 404, "Not Found");
    }
  }

  // POST /v1/traces (dev/otlp_receiver.hpp).
  void receive_otlp(Exchange& ex) {
    RawBody body;
    if (auto error = read_raw(ex, body)) return send_error(ex.res, *error);
    OtlpReceipt receipt = receive_otlp_traces(*store, body, media_type(ex.req.get_header_value("Content-Type")),
                                              options.limits, kWorkspace, kProject);
    for (const std::string& session : receipt.changed_sessions) console->invalidate(session);
    ex.res.status = receipt.status;
    ex.res.set_content(std::move(receipt.body), receipt.content_type);
  }

  // POST /mcp/failure-context and /mcp/fix-brief: with the project key the MCP proxy sends (or
  // the console token), reads like the console's.
  void mcp_evidence(Exchange& ex, Route route) {
    json body;
    if (auto error = read_json(ex, body)) return send_error(ex.res, *error);
    if (route == Route::mcp_failure_context) return console->mcp_failure_context(body, ex.res);
    return console->mcp_fix_brief(body, ex.res);
  }

  void dispatch_console(Exchange& ex, Route route, const std::vector<std::string>& segments) {
    const auto query = parse_query(ex.req.target);
    switch (route) {
      case Route::analysis: return console->analysis(segments[2], query, ex.res);
      case Route::console_sessions: return console->sessions(query, ex.res);
      case Route::failures: return console->failures(ex.res);
      case Route::diff: return console->diff(query, ex.res);
      case Route::artifact_file: return console->artifact(segments[2], segments[4], ex.res);
      default: return send_error(ex.res, 404, "Not Found");
    }
  }

  // --- traces -------------------------------------------------------------------------------

  void create_trace(Exchange& ex, Principal who) {
    json body;
    if (auto error = read_json(ex, body)) return send_error(ex.res, *error);

    const auto optional_string = [&](const char* key) -> std::optional<json> {
      auto it = body.find(key);
      if (it == body.end() || it->is_null()) return json(nullptr);
      if (!it->is_string()) return std::nullopt;
      return *it;
    };
    json trace = json::object();
    for (const char* key : {"user_goal", "agent", "environment"}) {
      auto value = optional_string(key);
      if (!value) return send_error(ex.res, 422, std::string(key) + " must be a string");
      trace[key] = *value;
    }
    if (trace["user_goal"].is_null()) trace["user_goal"] = "";

    // Absent metadata and tags stay null, as the reference server stores them.
    auto metadata = body.find("metadata");
    if (metadata == body.end() || metadata->is_null()) {
      trace["metadata"] = nullptr;
    } else if (metadata->is_object()) {
      trace["metadata"] = *metadata;
    } else {
      return send_error(ex.res, 422, "metadata must be an object");
    }
    auto tags = body.find("tags");
    if (tags == body.end() || tags->is_null()) {
      trace["tags"] = nullptr;
    } else if (tags->is_array()) {
      trace["tags"] = *tags;
    } else {
      return send_error(ex.res, 422, "tags must be a list");
    }
    auto source = body.find("source");
    if (source != body.end() && !source->is_null()) {
      if (!source->is_string()) return send_error(ex.res, 422, "source must be a string");
      trace["source"] = *source;
    }
    // The project comes from the credential, never from the body (any project_id sent is ignored):
    // a project key's project, and none for the console token (as in the reference server).
    trace["workspace_id"] = kWorkspace;
    trace["project_id"] = who == Principal::api_key ? json(kProject) : json(nullptr);
    trace["status"] = "running";
    trace["started_at"] = utc_now_seconds();

    auto id = body.find("id");
    if (id != body.end() && !id->is_null()) {
      if (!id->is_string()) return send_error(ex.res, 422, "id must be a string");
      if (!id->get_ref<const std::string&>().empty()) trace["id"] = *id;
    }
    json stored = store->put_trace(std::move(trace));
    console->invalidate(stored["id"].get<std::string>());
    send_json(ex.res, 201, json{{"trace", std::move(stored)}});
  }

  void list_traces(Exchange& ex, const char* key) {
    std::vector<json> traces = store->traces();  // most recently created first
    const bool sessions = std::string(key) == "sessions";
    if (sessions) {
      // The reference lists sessions by started_at, oldest first (ties in creation order).
      std::reverse(traces.begin(), traces.end());
      std::stable_sort(traces.begin(), traces.end(), [](const json& a, const json& b) {
        return a.value("started_at", "") < b.value("started_at", "");
      });
    }
    json rows = json::array();
    for (json& row : traces) {
      if (sessions) row["labels"] = json::array();
      rows.push_back(std::move(row));
    }
    send_json(ex.res, 200, json{{key, std::move(rows)}});
  }

  void get_trace(Exchange& ex, const std::string& id) {
    auto trace = store->trace(id);
    if (!trace) return send_error(ex.res, 404, "trace not found");
    send_json(ex.res, 200, json{{"trace", std::move(*trace)}});
  }

  // --- onboarding ---------------------------------------------------------------------------

  // POST /api/onboarding/bootstrap, what `promptetheus init` calls. The dev server has one
  // workspace and one project: the names sent are echoed, and the key is the server's own
  // (the first configured API key), so a local `init` leaves the SDK configured for this server.
  void bootstrap(Exchange& ex) {
    json body;
    if (auto error = read_json(ex, body)) return send_error(ex.res, *error);
    const auto name_of = [&](const char* key, const char* fallback) {
      auto it = body.find(key);
      return it != body.end() && it->is_string() && !it->get_ref<const std::string&>().empty()
                 ? it->get<std::string>()
                 : std::string(fallback);
    };
    const std::string& key = options.credentials.api_keys.front();
    send_json(ex.res, 201,
              json{{"workspace", {{"id", kWorkspace}, {"name", name_of("workspace_name", "Promptetheus Workspace")}}},
                   {"project", {{"id", kProject}, {"name", name_of("project_name", "Default Project")}}},
                   {"api_key", key},
                   {"api_key_preview", key.substr(0, std::min<std::size_t>(key.size(), 6)) + "..."}});
  }

  // --- events -------------------------------------------------------------------------------

  void get_events(Exchange& ex, const std::string& id) {
    auto events = store->events(id);
    if (!events) return send_error(ex.res, 404, "trace not found");
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < events->size(); ++i) {
      if (i) body += ',';
      body += (*events)[i];
    }
    body += "]}";
    ex.res.status = 200;
    ex.res.set_content(std::move(body), "application/json");
  }

  static json rejection(std::size_t index, const json& event, const std::string& reason) {
    json entry{{"index", index}};
    if (event.is_object()) {
      auto key = event.find("idempotency_key");
      if (key != event.end() && !key->is_null()) entry["idempotency_key"] = *key;
    }
    entry["reason"] = reason;
    return entry;
  }

  void post_events(Exchange& ex, const std::string& id) {
    if (!store->has_trace(id)) return send_error(ex.res, 404, "trace not found");
    json body;
    std::vector<WideInteger> wide;  // integer literals beyond 64 bits, kept digit for digit
    if (auto error = read_json(ex, body, &wide)) return send_error(ex.res, *error);

    // {"events": [...]}, {"events": <one value>} or one bare event.
    json events;
    auto list = body.find("events");
    const bool bare = list == body.end();
    const bool listed = !bare && list->is_array();
    auto wide_in_event = [&](std::size_t i) {
      if (wide.empty()) return std::vector<WideInteger>{};
      if (bare) return wide;
      return wide_integers_under(wide, listed ? std::vector<std::string>{"events", std::to_string(i)}
                                              : std::vector<std::string>{"events"});
    };
    if (bare && body.empty()) {
      events = json::array();  // `{}` or no body: nothing to store (the reference's answer)
    } else if (bare) {
      if (auto error = detail::validate_event(body)) return send_error(ex.res, 422, error->message);
      events = json::array({std::move(body)});
    } else if (list->is_array()) {
      events = std::move(*list);
    } else {
      events = json::array({std::move(*list)});
    }

    std::vector<json> rejected;
    std::vector<StoredEvent> accepted;
    std::vector<std::size_t> accepted_index;
    accepted.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      json& event = events[i];
      if (auto error = detail::validate_event(event)) {
        rejected.push_back(rejection(i, event, error->message));
        continue;
      }
      const std::vector<WideInteger> event_wide = wide_in_event(i);
      const json& seq = event["seq"];
      if (seq.is_number_unsigned() &&
          seq.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        const std::string* literal = wide_literal_at(event_wide, {"seq"});
        rejected.push_back(rejection(
            i, event, "seq " + (literal ? *literal : seq.dump()) + " is too large to store"));
        continue;
      }
      event["session_id"] = id;
      event["workspace_id"] = kWorkspace;
      event["project_id"] = kProject;
      // The canonical writer is several times faster than dump() (whose string escaping led
      // the profile) and its output is equally valid JSON with the same keys and values.
      StoredEvent stored{event["idempotency_key"].get<std::string>(), seq.get<std::int64_t>(), {}, std::nullopt};
      stored.json.reserve(512);
      write_json_with_wide_integers(stored.json, event, event_wide);
      if (changes_session_record(event)) {
        stored.record_change = event;
        replace_wide_integers_with_doubles(*stored.record_change, event_wide);
      }
      stored.agent_span_id = agent_span_started(event);
      accepted.push_back(std::move(stored));
      accepted_index.push_back(i);
    }

    std::size_t accepted_count = 0;
    if (!accepted.empty()) {
      auto outcomes = store->add_events(id, accepted);
      if (!outcomes) return send_error(ex.res, 404, "trace not found");
      if (std::find(outcomes->begin(), outcomes->end(), EventOutcome::stored) != outcomes->end()) {
        console->invalidate(id);
      }
      for (std::size_t k = 0; k < outcomes->size(); ++k) {
        // OTLP spans of the session's trace join it (dev/otlp_receiver.hpp).
        if ((*outcomes)[k] == EventOutcome::stored) {
          for (const std::string& changed : join_agent_event(*store, id, events[accepted_index[k]])) {
            console->invalidate(changed);
          }
        }
      }
      for (std::size_t k = 0; k < outcomes->size(); ++k) {
        if ((*outcomes)[k] == EventOutcome::seq_conflict) {
          const std::size_t i = accepted_index[k];
          rejected.push_back(rejection(i, events[i],
                                       "seq " + std::to_string(accepted[k].seq) +
                                           " already recorded with a different idempotency_key"));
        } else {
          ++accepted_count;  // stored, or a duplicate that is already stored
        }
      }
    }
    std::sort(rejected.begin(), rejected.end(),
              [](const json& a, const json& b) { return a["index"] < b["index"]; });
    send_json(ex.res, 200, json{{"accepted", accepted_count}, {"rejected", std::move(rejected)}});
  }

  // --- artifacts ----------------------------------------------------------------------------

  std::optional<HttpError> check_content_type(const std::string& content_type) const {
    const std::string type = media_type(content_type);
    if (std::find(kArtifactContentTypes.begin(), kArtifactContentTypes.end(), type) !=
        kArtifactContentTypes.end()) {
      return std::nullopt;
    }
    return HttpError{415, "unsupported artifact content-type: " + detail::python_str_repr(content_type)};
  }

  HttpError too_large_artifact() const {
    return HttpError{413, "artifact size_bytes must be an integer between 0 and " +
                              std::to_string(options.max_artifact_bytes)};
  }

  void post_artifact(Exchange& ex, const std::string& id) {
    if (!store->trace(id)) return send_error(ex.res, 404, "trace not found");
    const std::string request_type = ex.req.get_header_value("Content-Type");
    // JSON metadata as the reference server recognises it: no Content-Type, or application/json
    // (with or without parameters). `text/json` and the like are artifact bytes of that type.
    const std::string request_media_type = media_type(request_type);
    const bool metadata_only = request_media_type.empty() || request_media_type == "application/json";

    json artifact{{"session_id", id}, {"workspace_id", kWorkspace}, {"project_id", kProject}};
    std::string bytes;
    json artifact_type = nullptr;
    std::optional<std::string> artifact_id;
    std::string filename;

    if (metadata_only) {
      json body;
      if (auto error = read_json(ex, body)) return send_error(ex.res, *error);
      auto content_type = body.find("content_type");
      const std::string type =
          content_type != body.end() && content_type->is_string() ? content_type->get<std::string>() : "";
      if (auto error = check_content_type(type)) return send_error(ex.res, *error);
      auto size = body.find("size_bytes");
      if (size == body.end() || !is_non_bool_integer(*size) ||
          (!size->is_number_unsigned() && size->get<std::int64_t>() < 0) ||
          size->get<std::uint64_t>() > options.max_artifact_bytes) {
        return send_error(ex.res, too_large_artifact());
      }
      artifact["content_type"] = type;
      artifact["size_bytes"] = *size;
      auto name = body.find("filename");
      filename = name != body.end() && name->is_string() ? name->get<std::string>() : "";
      auto type_field = body.find("artifact_type");
      if (type_field != body.end() && type_field->is_string()) artifact_type = *type_field;
      auto id_field = body.find("artifact_id");
      if (id_field != body.end() && id_field->is_string() && !id_field->get<std::string>().empty()) {
        artifact_id = id_field->get<std::string>();
      }
    } else {
      RawBody body;
      if (auto error = read_raw(ex, body)) return send_error(ex.res, *error);
      if (auto error = check_content_type(request_type)) return send_error(ex.res, *error);
      if (body.bytes.size() > options.max_artifact_bytes) {
        return send_error(ex.res, too_large_artifact());
      }
      artifact["content_type"] = media_type(request_type);
      artifact["size_bytes"] = body.bytes.size();
      filename = ex.req.get_header_value("X-Promptetheus-Filename");
      if (ex.req.has_header("X-Promptetheus-Artifact-Type")) {
        artifact_type = ex.req.get_header_value("X-Promptetheus-Artifact-Type");
      }
      const std::string header_id = ex.req.get_header_value("X-Promptetheus-Artifact-Id");
      if (!header_id.empty()) artifact_id = header_id;
      bytes = std::move(body.bytes);
    }

    artifact["filename"] = sanitize_artifact_filename(filename);
    artifact["artifact_type"] = artifact_type;
    if (artifact_id) artifact["artifact_id"] = *artifact_id;
    // The row is recorded first so a minted id is reserved; the path depends on it.
    const std::string stored_id = store->put_artifact(artifact);
    artifact["artifact_id"] = stored_id;
    const std::string storage_path = std::string("artifacts/") + kWorkspace + "/" +
                                     safe_path_segment(id) + "/" + safe_path_segment(stored_id) +
                                     "/" + artifact["filename"].get<std::string>();
    artifact["storage_path"] = storage_path;
    if (!metadata_only && !write_artifact_bytes(storage_path, bytes)) {
      store->delete_artifact(id, stored_id);
      return send_error(ex.res, 500, "could not store artifact bytes");
    }
    store->put_artifact(artifact);
    send_json(ex.res, 201, json{{"artifact", std::move(artifact)}});
  }

  bool write_artifact_bytes(const std::string& storage_path, const std::string& bytes) {
    std::error_code ec;
    const fs::path target = fs::path(options.data_dir) / storage_path;
    if (!detail::make_private_dirs(target.parent_path().string())) return false;
    const fs::path temporary = target.string() + ".part";
    fs::remove(temporary, ec);  // a leftover of an interrupted upload
    // Written whole under a temporary name, 0600, then renamed into place.
    if (!detail::write_new_file(temporary.string(), bytes)) return false;
    fs::rename(temporary, target, ec);
    return !ec;
  }
};

DevServer::DevServer() : impl_(std::make_unique<Impl>()) {}

DevServer::~DevServer() { stop(); }

int DevServer::start(const DevServerOptions& options) {
  std::lock_guard<std::mutex> lock(impl_->lifecycle);
  if (impl_->http) throw std::runtime_error("the dev server is already running");
  Impl& impl = *impl_;
  impl.options = options;
  if (impl.options.credentials.api_keys.empty()) impl.options.credentials.api_keys = {"pt_dev_key"};

  // Private (0700) like the SDK's spool directories: recorded prompts and artifacts live here.
  if (!detail::make_private_dirs(impl.options.data_dir)) {
    throw std::runtime_error("cannot create data dir " + impl.options.data_dir + ": " + std::strerror(errno));
  }
  const std::string db_path = impl.options.db_path.empty()
                                  ? (fs::path(impl.options.data_dir) / "promptetheus.db").string()
                                  : impl.options.db_path;
  impl.store = std::make_unique<DevStore>(db_path);
  impl.console = std::make_unique<ConsoleApi>(*impl.store, impl.options.data_dir, impl.options.prices);

  Impl* self = impl_.get();
  auto http = std::make_unique<HttpServer>(impl.options.connections,
                                           [self](Request& req, Response& res) { self->handle(req, res); });
  int port = 0;
  try {
    port = http->start(impl.options.host, impl.options.port);
  } catch (const ListenError& e) {
    impl.console.reset();
    impl.store.reset();
    throw std::runtime_error(bind_failure(impl.options.host, impl.options.port, e.error_number()));
  } catch (...) {
    impl.console.reset();
    impl.store.reset();
    throw;
  }
  impl.port = port;
  impl.http = std::move(http);
  impl.running = true;
  return port;
}

void DevServer::stop() noexcept {
  if (!impl_) return;
  std::lock_guard<std::mutex> lock(impl_->lifecycle);
  if (!impl_->http) return;
  impl_->running = false;
  impl_->console->stop();  // a summary computation in progress ends at its next trace
  impl_->http->stop();  // joins every connection thread, so no request still uses the store
  impl_->http.reset();
  impl_->console.reset();
  impl_->store.reset();
  impl_->port = 0;
}

bool DevServer::running() const noexcept { return impl_ && impl_->running.load(); }

int DevServer::port() const noexcept { return impl_ ? impl_->port.load() : 0; }

std::string DevServer::base_url() const {
  const std::string& host = impl_->options.host;
  const bool ipv6 = host.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

}  // namespace promptetheus::devserver
