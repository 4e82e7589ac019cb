#include "mcp_server.hpp"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <new>

#include "atomic_file.hpp"

namespace promptetheus::cli::mcp {

namespace {

using json = nlohmann::json;

// JSON-RPC 2.0 error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;

// Invalid UTF-8 coming from a tool (a lone surrogate decoded from a spool line) is replaced, never
// thrown on: the line must stay valid JSON.
std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string error_response(const json& id, int code, const std::string& message) {
  return compact(json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
}

std::string result_response(const json& id, json result) {
  return compact(json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

// JSON-RPC allows a string or a number as id (MCP forbids null in requests; a null id is treated
// as a bad id, answered with a null id).
bool valid_id(const json& id) { return id.is_string() || id.is_number(); }

}  // namespace

Server::Server(ToolSet tools, ServerIdentity identity)
    : tools_(std::move(tools)), identity_(std::move(identity)),
      protocol_version_(supported_protocol_versions().front()) {}

std::string Server::oversized_line_response(std::size_t bytes_read) {
  return error_response(nullptr, kInvalidRequest,
                        "Request too large: " + std::to_string(bytes_read) + " bytes read, the limit is " +
                            std::to_string(kMaxRequestLineBytes) + " bytes per message; it was discarded.");
}

bool Server::has_structured_output() const {
  // outputSchema and structuredContent arrived with 2025-06-18; dates compare as text.
  return protocol_version_ >= "2025-06-18";
}

json Server::initialize(const json& params) {
  const auto& supported = supported_protocol_versions();
  protocol_version_ = supported.front();
  const auto requested = params.find("protocolVersion");
  if (requested != params.end() && requested->is_string() &&
      std::find(supported.begin(), supported.end(), requested->get<std::string>()) != supported.end()) {
    protocol_version_ = requested->get<std::string>();
  }
  json result{{"protocolVersion", protocol_version_},
              {"capabilities", {{"tools", {{"listChanged", false}}}}},
              {"serverInfo", {{"name", identity_.name}, {"version", identity_.version}}}};
  if (!identity_.instructions.empty()) result["instructions"] = identity_.instructions;
  return result;
}

json Server::list_tools() const {
  json list = json::array();
  for (const Tool& tool : tools_) {
    json t{{"name", tool.name}, {"description", tool.description}, {"inputSchema", tool.input_schema}};
    if (!tool.title.empty()) t["title"] = tool.title;
    if (tool.output_schema && has_structured_output()) t["outputSchema"] = *tool.output_schema;
    list.push_back(std::move(t));
  }
  return json{{"tools", std::move(list)}};
}

json Server::call_tool(const Tool& tool, const json& arguments) const {
  ToolResult outcome;
  try {
    outcome = tool.call(arguments);
  } catch (const std::bad_alloc&) {
    outcome = ToolResult::error("The tool ran out of memory.");
  } catch (const std::exception& e) {
    outcome = ToolResult::error(std::string("The tool failed: ") + e.what());
  } catch (...) {
    outcome = ToolResult::error("The tool failed with an unknown error.");
  }
  if (!outcome.value.is_object()) outcome.value = json{{"value", std::move(outcome.value)}};
  std::string text = compact(outcome.value);
  if (text.size() > kMaxToolResultBytes) {
    outcome = ToolResult::error("The result is too large (" + std::to_string(text.size()) +
                                " bytes, the limit is " + std::to_string(kMaxToolResultBytes) +
                                "); ask for a smaller page (limit) or fewer items.");
    text = compact(outcome.value);
  }
  json result{{"content", json::array({json{{"type", "text"}, {"text", std::move(text)}}})}};
  // A tool error is text only: structuredContent must match the tool's outputSchema, which
  // describes a successful result (clients validate it).
  if (outcome.is_error) {
    result["isError"] = true;
  } else if (has_structured_output()) {
    result["structuredContent"] = std::move(outcome.value);
  }
  return result;
}

std::optional<std::string> Server::handle_line(std::string_view line) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;  // blank
  json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return error_response(nullptr, kParseError, "Parse error: the line is not valid JSON.");
  if (message.is_array()) {
    return error_response(nullptr, kInvalidRequest, "Invalid request: batches are not supported.");
  }
  if (!message.is_object()) return error_response(nullptr, kInvalidRequest, "Invalid request: not a JSON object.");

  const auto id_it = message.find("id");
  const bool has_id = id_it != message.end();
  const auto method_it = message.find("method");
  const auto version_it = message.find("jsonrpc");
  const bool right_version = version_it != message.end() && *version_it == "2.0";

  if (method_it == message.end()) {
    // A response from the client (we send no requests), or garbage: nothing to answer unless it
    // is a malformed request with an id.
    if (message.contains("result") || message.contains("error")) return std::nullopt;
    return error_response(has_id && valid_id(*id_it) ? *id_it : json(nullptr), kInvalidRequest,
                          "Invalid request: no method.");
  }
  if (!has_id) return std::nullopt;  // a notification (initialized, cancelled, ...): no response
  if (!valid_id(*id_it)) {
    return error_response(nullptr, kInvalidRequest, "Invalid request: id must be a string or a number.");
  }
  const json id = *id_it;
  if (!right_version) return error_response(id, kInvalidRequest, "Invalid request: jsonrpc must be \"2.0\".");
  if (!method_it->is_string()) return error_response(id, kInvalidRequest, "Invalid request: method must be a string.");

  const std::string method = method_it->get<std::string>();
  json params = json::object();
  const auto params_it = message.find("params");
  if (params_it != message.end() && !params_it->is_null()) {
    if (!params_it->is_object()) return error_response(id, kInvalidParams, "Invalid params: params must be an object.");
    params = *params_it;
  }

  if (method == "initialize") return result_response(id, initialize(params));
  if (method == "ping") return result_response(id, json::object());
  if (method == "tools/list") return result_response(id, list_tools());
  if (method == "tools/call") {
    const auto name = params.find("name");
    if (name == params.end() || !name->is_string()) {
      return error_response(id, kInvalidParams, "Invalid params: name must be a tool name (a string).");
    }
    const auto tool = std::find_if(tools_.begin(), tools_.end(), [&](const Tool& t) { return t.name == *name; });
    if (tool == tools_.end()) {
      return error_response(id, kInvalidParams, "Unknown tool: " + compact(*name) + ".");
    }
    json arguments = json::object();
    const auto args = params.find("arguments");
    if (args != params.end() && !args->is_null()) {
      if (!args->is_object()) return error_response(id, kInvalidParams, "Invalid params: arguments must be an object.");
      arguments = *args;
    }
    return result_response(id, call_tool(*tool, arguments));
  }
  return error_response(id, kMethodNotFound, "Method not found: " + compact(json(method)) + ".");
}

namespace {

// One response line, or none; a failure to answer (out of memory) becomes an internal error.
bool answer(Server& server, std::string_view line, int out_fd) {
  std::optional<std::string> response;
  try {
    response = server.handle_line(line);
  } catch (...) {
    response = error_response(nullptr, -32603, "Internal error while handling the message.");
  }
  if (!response) return true;
  response->push_back('\n');
  return write_all(out_fd, *response);
}

}  // namespace

int serve(Server& server, int in_fd, int out_fd) {
  ::signal(SIGPIPE, SIG_IGN);
  std::string line;               // the current line, while it is within the limit
  std::size_t discarded = 0;      // bytes of the current line when it went over the limit
  bool discarding = false;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(in_fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (n == 0) break;
    std::string_view chunk(buffer, static_cast<std::size_t>(n));
    while (!chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (discarding) {
        discarded += piece.size();
      } else if (line.size() + piece.size() > kMaxRequestLineBytes) {
        discarding = true;
        discarded = line.size() + piece.size();
        std::string().swap(line);
      } else {
        line.append(piece);
      }
      if (newline == std::string_view::npos) break;
      chunk.remove_prefix(newline + 1);
      const bool ok = discarding ? write_all(out_fd, Server::oversized_line_response(discarded) + "\n")
                                 : answer(server, line, out_fd);
      if (!ok) return 0;  // the client closed its end
      line.clear();
      discarding = false;
      discarded = 0;
    }
  }
  // End of input in the middle of a line: answer it only when it is a whole message.
  if (!discarding && !line.empty() && !json::parse(line, nullptr, false).is_discarded()) answer(server, line, out_fd);
  return 0;
}

}  // namespace promptetheus::cli::mcp
