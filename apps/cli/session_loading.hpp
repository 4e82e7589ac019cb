// Loading the targets of replay/diff/fingerprint/export with the reference's messages, from
// wherever the run is: a file, the spool (by id or a unique id prefix), or a server.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/session_store.hpp"
#include "api_access.hpp"
#include "cli_common.hpp"

namespace promptetheus::cli {

/// The one session id of `dir` (recorded runs and outbox) that starts with `prefix`; nothing
/// when none or several do (`matches` lists them).
std::optional<std::string> session_id_with_prefix(const std::string& prefix, const std::string& dir,
                                                  std::vector<std::string>& matches);

/// What looking a target up found, without printing anything (the MCP server must not write to
/// stdout): the session, or why not.
struct TargetLookup {
  std::optional<analysis::Session> session;
  std::vector<std::string> notes;  // where a found session was read from, when not the obvious place
  std::string not_found;           // the reference's not-found message ("" when the server failed)
  std::string detail;              // where it was looked for, or why the server could not be read
  int exit_code = 0;               // 0 found, 1 not found, kApiErrorExit when --api could not be read
};

/// Resolves a target as load_target_or_report does, but prints nothing. Blocks while a server is
/// read (bounded by kReadTimeout, kLookupTimeout for the configured server).
TargetLookup look_up_target(const std::string& target, const std::string& dir, const ApiOptions& api);

/// Resolves a target. With `api.url` (--api), from that server only. Otherwise as the reference
/// does (§6: a file, or a session id in `dir`), then a unique prefix of a session id in `dir`,
/// then the configured API URL, with a note on stderr saying where the session was read or
/// where it was looked for. On success warns about skipped lines as `where` says. On failure
/// prints the reference's not-found message to stdout, sets `exit_code` (1 not found,
/// kApiErrorExit when the server named with --api could not be read) and returns nullopt.
std::optional<analysis::Session> load_target_or_report(const std::string& target, const std::string& dir,
                                                       ReadWarning where, const ApiOptions& api,
                                                       int& exit_code);

}  // namespace promptetheus::cli
