#include "api_access.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "cli_http.hpp"
#include "core/json_writer.hpp"
#include "promptetheus/options.hpp"

namespace promptetheus::cli {

namespace {

// Whole sessions can be large: 100,000 events are about 30 MB of JSON.
constexpr std::size_t kMaxSessionBytes = 512u << 20;

std::string describe_failure(const HttpReply& reply) {
  if (reply.status == 0) return "no answer (" + reply.reason + ")";
  if (reply.status == 401 || reply.status == 403) {
    return "HTTP " + std::to_string(reply.status) +
           ": the console token was refused (set PROMPTETHEUS_CONSOLE_TOKEN or pass --console-token)";
  }
  return "HTTP " + std::to_string(reply.status) + (reply.reason.empty() ? "" : " " + reply.reason);
}

}  // namespace

bool is_loopback_url(const std::string& url) {
  for (const char* prefix : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    const std::string p = prefix;
    if (url.compare(0, p.size(), p) == 0 &&
        (url.size() == p.size() || url[p.size()] == ':' || url[p.size()] == '/')) {
      return true;
    }
  }
  return false;
}

std::string console_token_for(const std::string& url, const std::string& given) {
  if (!given.empty()) return given;
  const char* env = std::getenv("PROMPTETHEUS_CONSOLE_TOKEN");
  if (env && *env) return env;
  return is_loopback_url(url) ? kLocalConsoleToken : "";
}

void add_api_options(CLI::App& cmd, ApiOptions& options) {
  cmd.add_option("--api", options.url,
                 "Read runs from this server (e.g. http://127.0.0.1:4318) instead of the spool");
  cmd.add_option("--console-token", options.console_token,
                 "Console token for --api (default: PROMPTETHEUS_CONSOLE_TOKEN, or the dev token "
                 "for a server on this machine)");
}

ApiAccess api_access(const ApiOptions& options) {
  ApiAccess api;
  api.url = options.url.empty() ? configured_options().api_url : options.url;
  while (!api.url.empty() && api.url.back() == '/') api.url.pop_back();
  api.console_token = console_token_for(api.url, options.console_token);
  return api;
}

std::string encode_path_segment(const std::string& segment) {
  std::string out;
  for (const char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", byte);
      out += buf;
    }
  }
  return out;
}

bool fetch_list(const ApiAccess& api, const std::string& path, const char* key, nlohmann::json& out,
                std::string& error) {
  const HttpReply reply = http_get(api.url + path, kReadTimeout, api.console_token, kMaxSessionBytes);
  if (reply.status != 200) {
    error = describe_failure(reply);
    return false;
  }
  if (reply.body_truncated) {
    error = "the answer is larger than " + std::to_string(kMaxSessionBytes >> 20) + " MiB";
    return false;
  }
  nlohmann::json doc = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  const auto list = doc.is_object() ? doc.find(key) : doc.end();
  if (!doc.is_object() || list == doc.end() || !list->is_array()) {
    error = "the answer of " + path + " is not {\"" + std::string(key) + "\": [...]}";
    return false;
  }
  out = std::move(*list);
  return true;
}

FetchOutcome fetch_session(const ApiAccess& api, const std::string& id, analysis::Session& out,
                           std::string& error, std::chrono::milliseconds timeout) {
  if (api.url.empty()) {
    error = "no API URL configured";
    return FetchOutcome::failed;
  }
  const std::string path = "/api/traces/" + encode_path_segment(id) + "/events";
  const HttpReply reply = http_get(api.url + path, timeout, api.console_token, kMaxSessionBytes);
  if (reply.status == 404) return FetchOutcome::not_found;
  if (reply.status != 200) {
    error = describe_failure(reply);
    return FetchOutcome::failed;
  }
  if (reply.body_truncated) {
    error = "the session is larger than " + std::to_string(kMaxSessionBytes >> 20) + " MiB";
    return FetchOutcome::failed;
  }
  const nlohmann::json doc = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  const auto events = doc.is_object() ? doc.find("events") : doc.end();
  if (!doc.is_object() || events == doc.end() || !events->is_array()) {
    error = "the answer of " + path + " is not {\"events\": [...]}";
    return FetchOutcome::failed;
  }
  // As JSONL, so that the events are read exactly as a spool file of them would be.
  std::string text;
  text.reserve(reply.body.size() + events->size());
  for (const nlohmann::json& event : *events) {
    detail::write_json(text, event);
    text.push_back('\n');
  }
  out = analysis::parse_jsonl(std::move(text), api.url + path);
  return FetchOutcome::found;
}

}  // namespace promptetheus::cli
