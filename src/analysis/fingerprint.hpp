// Failure fingerprint v1 (contract §7.1), hash-identical to the reference including non-ASCII
// input: Python `re` Unicode semantics for \w \d \s \b, full Unicode lowercasing, code-point
// truncation.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/session_store.hpp"

namespace promptetheus::analysis {

/// norm(s): the nine normalisation steps of §7.1.
std::string fingerprint_norm(std::string_view s);
/// error_kind(s): the last dotted component of a leading `...Error` / `...Exception` name.
std::optional<std::string> fingerprint_error_kind(std::string_view s);

struct Fingerprint {
  bool is_failure = false;
  std::string fingerprint;              // 12 hex digits, "" when no failure
  std::string label = "no failure detected";
  std::vector<std::string> signals;     // sorted, unique
};

/// Builds fingerprint v1 one event at a time (so large files can be streamed).
class FingerprintBuilder {
 public:
  FingerprintBuilder();
  ~FingerprintBuilder();
  FingerprintBuilder(const FingerprintBuilder&) = delete;
  FingerprintBuilder& operator=(const FingerprintBuilder&) = delete;
  void add(const Event& e);
  Fingerprint finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Fingerprint v1 of events in the given order. Never throws on odd values.
Fingerprint fingerprint_v1(const std::vector<Event>& events);

}  // namespace promptetheus::analysis
