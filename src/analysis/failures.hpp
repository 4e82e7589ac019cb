// Failures across runs, grouped as an error tracker groups them: sessions with the same failure
// fingerprint (contract §7.1) are one failure, with how often and when it happened. Shared by
// `promptetheus failures`, the dev server's GET /api/failures and its console.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/fingerprint.hpp"

namespace promptetheus::analysis {

/// What grouping needs of one session.
struct SessionFailure {
  std::string session_id;
  std::optional<std::string> agent;
  std::optional<std::string> started_at;  // the session's first timestamp (UTC, ISO 8601)
  Fingerprint fingerprint;
};

struct FailureGroup {
  std::string fingerprint;  // 12 hex digits
  std::string label;
  std::vector<std::string> signals;       // of the most recent session
  std::size_t count = 0;                  // sessions
  std::optional<std::string> first_seen;  // earliest started_at
  std::optional<std::string> last_seen;   // latest started_at
  std::vector<std::string> agents;        // distinct, sorted
  std::vector<std::string> sessions;      // ids, most recent first
};

/// Groups the failed sessions among `sessions` (those without a failure are left out) by
/// fingerprint: groups by count, most first, then by last seen, most recent first, then by
/// fingerprint. Sessions without a timestamp sort as the oldest.
std::vector<FailureGroup> group_failures(const std::vector<SessionFailure>& sessions);

/// {"fingerprint", "label", "signals", "count", "first_seen", "last_seen", "agents", "sessions"}
/// with at most `max_sessions` session ids (the most recent).
nlohmann::ordered_json failure_group_json(const FailureGroup& group, std::size_t max_sessions = 20);

}  // namespace promptetheus::analysis
