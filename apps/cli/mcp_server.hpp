// The protocol side of `promptetheus mcp`: a Model Context Protocol server over stdio that serves
// one ToolSet (mcp_tool.hpp). JSON-RPC 2.0, one message per line on stdin, one response per line
// on stdout; stdout carries the protocol only, diagnostics go to stderr.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_tool.hpp"

namespace promptetheus::cli::mcp {

/// The protocol versions this server speaks, newest first. `initialize` answers the client's
/// requested version when it is one of these, else the first (the newest), as the MCP
/// specification's version negotiation asks.
inline const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> versions{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  return versions;
}

/// A request line longer than this (bytes, newline excluded) is answered with -32600 without
/// being buffered: the rest of the line is read and dropped, and the server goes on serving.
inline constexpr std::size_t kMaxRequestLineBytes = 1024 * 1024;

/// A tool result whose JSON text is longer than this is replaced by a tool error asking for a
/// smaller page. The tools bound their own output well below it; this is the last guard.
inline constexpr std::size_t kMaxToolResultBytes = 1024 * 1024;

struct ServerIdentity {
  std::string name = "promptetheus";
  std::string version;       // the SDK's version
  std::string instructions;  // what the client's model is told about the tools
};

/// Answers MCP messages one line at a time. Not thread-safe: one instance serves one
/// connection. Never throws but std::bad_alloc; a tool that throws becomes a tool error.
class Server {
 public:
  Server(ToolSet tools, ServerIdentity identity);

  /// The response line (without the newline) to one request line, or nothing for a
  /// notification (a message without an id) or a response sent by the client.
  std::optional<std::string> handle_line(std::string_view line);

  /// The response to a request line that was longer than kMaxRequestLineBytes.
  static std::string oversized_line_response(std::size_t bytes_read);

  /// The protocol version agreed by `initialize` (the newest supported one before it).
  const std::string& protocol_version() const { return protocol_version_; }

 private:
  nlohmann::json initialize(const nlohmann::json& params);
  nlohmann::json list_tools() const;
  nlohmann::json call_tool(const Tool& tool, const nlohmann::json& arguments) const;
  bool has_structured_output() const;

  ToolSet tools_;
  ServerIdentity identity_;
  std::string protocol_version_;
};

/// Serves `server` on the file descriptors `in_fd` and `out_fd` until end of input: complete
/// lines are answered in order, a final line without a newline is answered too when it is
/// complete JSON, and a write error (the client went away) ends the loop. Blocks. Returns the
/// process exit code: 0 at end of input or when the client closed its end, 1 when reading failed.
/// Ignores SIGPIPE for the process, so a closed client shows up as a write error.
int serve(Server& server, int in_fd, int out_fd);

}  // namespace promptetheus::cli::mcp
