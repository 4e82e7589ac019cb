// What a person (or a coding agent) needs first to understand why a run failed, in one JSON
// document: the failure fingerprint and its signals, the failed tool calls with their arguments,
// results and errors, the error events, the failed goal checks, how the session ended, the events
// just before the first failure, and where its screenshots are. Computed from the events alone,
// so the CLI's MCP server and the dev server can both serve it. Pure; nothing here throws but
// std::bad_alloc.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/bounded_json.hpp"
#include "analysis/session_store.hpp"
#include "promptetheus/policy.hpp"

namespace promptetheus::analysis {

struct FailureContextOptions {
  std::size_t events_before = 10;  // readable timeline entries kept before the first failure
  std::size_t max_items = 20;      // entries kept of each list (tool failures, errors, ...)
  JsonBounds bounds;               // applied to every value copied from an event
  const std::map<std::string, policy::Price>* prices = nullptr;  // nullptr: the default table
};

/// {"session": overview_json, "failed": bool, "fingerprint": {"fingerprint", "label", "signals"},
///  "end": {"seq", "status", "error"} | null,
///  "failed_tool_calls": [{"seq", "call_seq", "tool_name", "call_id", "span_id", "arguments",
///                         "result", "error"}],
///  "errors": [{"seq", "error_type", "message", "handled", "traceback"}],
///  "failed_goal_checks": [{"seq", "mismatches"}],
///  "first_failure_seq": seq | null,
///  "events_before_failure": [{"seq", "type", "offset_ms", "text", "failure"}],
///  "screenshots": [{"seq", "type", "artifact_id", "storage_path", "source", "size_bytes"}],
///  "omitted": {"<list>": count dropped beyond max_items, ...}}
/// "events_before_failure" ends with the first failure, after up to events_before entries.
/// Events are read in seq order (as replay reads them). `failed` is the fingerprint's verdict.
nlohmann::json failure_context(const Session& session, const FailureContextOptions& options = {});

}  // namespace promptetheus::analysis
