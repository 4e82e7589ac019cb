// How a session's events keep its trace record true: the reference server never updates a
// trace after it is created (contract §5.1: "session_end does not change the session's status"),
// so a failed run stays "running" there. The dev server applies these events as they are stored:
//   session_end       → status, error, ended_at, duration_ms
//   tags_added        → the new tags appended to `tags` (no repeats)
//   metadata_update   → its keys merged into `metadata`
//   session_started   → first_event_at (the run's own start time, for duration_ms)
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace promptetheus::devserver {

/// Whether storing `event` (a validated envelope) changes its session's record.
bool changes_session_record(const nlohmann::json& event);

/// Applies one stored event to the trace row `trace` (an object). Events that do not change the
/// record (see changes_session_record) leave it as it is. Never throws on odd payloads: a field
/// of the wrong type is ignored.
void apply_to_session_record(nlohmann::json& trace, const nlohmann::json& event);

/// Milliseconds between two UTC timestamps of the form `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, or
/// nothing when either does not parse. Exposed for tests.
std::optional<long long> milliseconds_between(const std::string& from, const std::string& to);

}  // namespace promptetheus::devserver
