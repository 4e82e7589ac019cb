// The tools of `promptetheus mcp` over local evidence: the spool directory, exported session
// files, and a server's read routes (`promptetheus dev`, with --api). They let a coding agent
// find a failed run and read why it failed without flooding its context: every result is
// bounded (the limits below), lists are paged, and long strings end with a visible
// "…[truncated N chars]" marker.
#pragma once

#include <cstddef>
#include <string>

#include "api_access.hpp"
#include "mcp_tool.hpp"

namespace promptetheus::cli::mcp {

/// Page sizes: the default and the largest `limit` each tool accepts (larger ones are clamped).
inline constexpr std::size_t kDefaultListLimit = 20, kMaxListLimit = 100;       // list_sessions, search_events, list_failures
inline constexpr std::size_t kDefaultEntryLimit = 100, kMaxEntryLimit = 500;    // get_session timeline entries
inline constexpr std::size_t kDefaultEventLimit = 50, kMaxEventLimit = 200;     // get_events
/// Strings copied from events are cut to this many code points (then "…[truncated N chars]").
inline constexpr std::size_t kMaxStringChars = 2000;
/// Arrays and objects copied from events keep this many items, and this many levels of nesting.
inline constexpr std::size_t kMaxItems = 50, kMaxDepth = 8;
/// get_session's run tree is cut to this many code points.
inline constexpr std::size_t kMaxTreeChars = 20000;
/// search_events with --api reads at most this many of the server's newest sessions.
inline constexpr std::size_t kMaxRemoteSearchSessions = 100;

struct LocalToolsConfig {
  std::string dir;  // the spool directory
  ApiOptions api;   // with api.url: list and read the runs of that server instead of the spool
};

/// The seven tools: list_sessions, get_session, get_events, get_failure_context,
/// diff_sessions, search_events, list_failures. Each call reads the evidence afresh (a run
/// recorded meanwhile is seen), blocks while it reads files or the server (bounded by
/// kReadTimeout), and answers a bad argument, a missing session or an unreadable spool with a
/// tool error. The tools share no mutable state.
ToolSet local_tools(const LocalToolsConfig& config);

}  // namespace promptetheus::cli::mcp
