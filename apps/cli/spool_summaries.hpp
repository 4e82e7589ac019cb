// Every session of a spool directory read once and summarised: what `sessions` lists and what
// `failures` groups.
#pragma once

#include <string>
#include <vector>

#include "analysis/fingerprint.hpp"
#include "analysis/session_store.hpp"
#include "analysis/timeline.hpp"

namespace promptetheus::cli {

struct SpoolSessionSummary {
  analysis::SpoolFile file;  // file.stem is the id `replay` and `diff` accept
  analysis::SessionOverview overview;
  analysis::Fingerprint fingerprint;
  analysis::ReadStats stats;
  std::vector<std::string> tags;  // of session_started and tags_added, in order, without repeats
};

/// The sessions of `dir` (recorded runs, then the outbox, as list_spool_pending orders them).
/// `state` and `error` say whether the directory could be listed; a file that cannot be read is
/// summarised with no events and stats.unreadable.
std::vector<SpoolSessionSummary> summarise_spool(const std::string& dir, analysis::DirState& state,
                                                 std::string& error);

}  // namespace promptetheus::cli
