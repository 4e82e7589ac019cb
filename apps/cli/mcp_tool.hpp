// One tool of the `promptetheus mcp` server: what `tools/list` describes and `tools/call` runs.
// The server (mcp_server.hpp) speaks the protocol; a tool set (the local tools over the spool,
// exported files and the read routes, or the hosted proxy tools of contract §8.1) only maps
// arguments to a JSON result.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptetheus::cli::mcp {

/// What a tool call produced. A result is returned to the client as JSON text content and, when
/// the negotiated protocol has it and the call succeeded, as `structuredContent` (so `value` must
/// be a JSON object).
/// `is_error` marks a tool error (MCP `isError: true`): the call ran but failed, and `value`
/// then holds `{"error": "<clear message>"}`, which the client's model reads.
struct ToolResult {
  nlohmann::json value = nlohmann::json::object();
  bool is_error = false;

  static ToolResult ok(nlohmann::json object) { return {std::move(object), false}; }
  static ToolResult error(const std::string& message) {
    return {nlohmann::json{{"error", message}}, true};
  }
};

/// A tool. `call` receives the `arguments` object as sent (already checked to be an object;
/// an absent one arrives as `{}`). It checks argument types itself and answers a wrong one with
/// ToolResult::error. It may block (reading files, a server with a bounded timeout) but must
/// not throw: the server turns an escaped exception into a tool error all the same.
struct Tool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;                 // JSON Schema, "type": "object"
  std::optional<nlohmann::json> output_schema;  // JSON Schema of `value`, when it has a fixed shape
  std::function<ToolResult(const nlohmann::json& arguments)> call;
};

using ToolSet = std::vector<Tool>;

}  // namespace promptetheus::cli::mcp
