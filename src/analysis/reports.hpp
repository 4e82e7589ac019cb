// Machine-readable (--json) forms of the analyses, shared by the CLI and the MCP server.
#pragma once

#include <nlohmann/json.hpp>

#include "analysis/diff.hpp"
#include "analysis/fingerprint.hpp"
#include "analysis/session_store.hpp"
#include "analysis/trace_tree.hpp"

namespace promptetheus::analysis {

/// {"source", "events", "lines", "blank_lines", "malformed_lines", "non_object_events", "unreadable"}
nlohmann::ordered_json read_stats_json(const Session& s);
/// Flat replay: {"mode":"flat", ..read stats.., "lines":[{"depth", "seq", "type", "text"}]}
nlohmann::ordered_json replay_flat_json(const Session& s);
/// Tree replay: {"mode":"tree", ..read stats.., "roots":[{"span_id", "name", "duration_ms",
/// "events":[text...], "children":[...]}]} (the synthetic root has span_id null).
nlohmann::ordered_json replay_tree_json(const Session& s);
nlohmann::ordered_json fingerprint_json(const Fingerprint& fp, const Session& s);
nlohmann::ordered_json diff_json(const SessionDiff& d, const Session& a, const Session& b);

}  // namespace promptetheus::analysis
