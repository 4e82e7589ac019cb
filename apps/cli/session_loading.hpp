// Loading the targets of replay/diff/fingerprint with the reference's messages.
#pragma once

#include <optional>
#include <string>

#include "analysis/session_store.hpp"
#include "cli_common.hpp"

namespace promptetheus::cli {

/// Resolves a target (§6); on success warns about skipped lines as `where` says. On failure
/// prints the not-found message to stdout and returns nullopt (the caller exits 1).
std::optional<analysis::Session> load_target_or_report(const std::string& target, const std::string& dir,
                                                       ReadWarning where);

}  // namespace promptetheus::cli
