// Two sessions compared for a person deciding whether a change broke an agent: the status and
// end error, goal-check mismatches, each tool by name (calls, failures and the error), errors,
// LLM models, tokens and cost, the session's and each span's duration, and a verdict. The default
// `diff` prints it; `diff --format reference` keeps the reference CLI's step diff (diff.hpp).
// Nothing here throws on odd values, only std::bad_alloc.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/session_store.hpp"
#include "analysis/timeline.hpp"

namespace promptetheus::analysis {

struct ComparisonLine {
  enum class Kind { added, removed, changed, regressed, fixed };
  Kind kind;
  std::string subject;  // "status", "goal check", "tool calendar.search", "LLM tokens", ...
  std::string text;     // the whole line without its marker
};

struct SessionComparison {
  SessionOverview a, b;
  std::vector<ComparisonLine> lines;  // in a fixed order: status, end error, goal checks, tools,
                                      // errors, LLM calls, durations
  bool regressed() const;
  /// "REGRESSED: <the regressed lines' subjects>", "changed, no regression" or "no differences".
  std::string verdict() const;
};

/// `prices` replaces the default price table when given.
SessionComparison compare_sessions(const std::vector<Event>& a, const std::vector<Event>& b,
                                   const std::map<std::string, policy::Price>* prices = nullptr);

/// "A: <id> · <agent> · <status> · <duration>", the same for B, a blank line, one line per change
/// with its marker ("+", "-", "~", "!" for a regression, "✓" for a fix), a blank line and
/// "Verdict: ...".
std::string render_comparison(const SessionComparison& comparison);

/// {"a": overview, "b": overview, "changes": [{"kind", "subject", "text"}], "regressed",
/// "verdict"}.
nlohmann::ordered_json comparison_json(const SessionComparison& comparison);

}  // namespace promptetheus::analysis
