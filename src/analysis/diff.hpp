// Session diff and regression v1 (contract §7.2).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/session_store.hpp"

namespace promptetheus::analysis {

struct Step {
  std::string key;  // "<base>#<ordinal>"
  std::string kind;
  std::string label;
  bool ok = true;
  std::optional<double> duration_ms;
};

struct StepChange {
  enum class Kind { added, removed, changed };
  Kind kind;
  std::string detail;  // the label for added/removed, the change text for changed
  bool regressed = false;
};

struct SessionDiff {
  std::vector<Step> added;
  std::vector<Step> removed;
  std::vector<StepChange> changed;
  bool regressed = false;

  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  /// All changes as records: added, then removed, then changed.
  std::vector<StepChange> changes() const;
  /// The summary lines joined with '\n' ("" when nothing differs).
  std::string summary() const;
};

/// The events in diff order: a walk over the trace forest (root events first, then spans).
std::vector<const Event*> flatten_for_diff(const std::vector<Event>& events);
std::vector<Step> extract_steps(const std::vector<Event>& events);
SessionDiff diff_sessions(const std::vector<Event>& a, const std::vector<Event>& b);

}  // namespace promptetheus::analysis
