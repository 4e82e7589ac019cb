// The default redactor behind policy::redact() (contract §7.7), with the reason of a failure for
// callers that report it (the `promptetheus redact` command).
#pragma once

#include "promptetheus/export.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/event.hpp"
#include "promptetheus/policy.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The redacted event, or nullopt with `error` set when redaction failed (the event is not an
/// object, an extra pattern does not compile, a match hit its backtracking limit); redact()
/// then returns the fail-closed skeleton. Throws only std::bad_alloc.
std::optional<nlohmann::json> try_redact(const nlohmann::json& event, const policy::RedactOptions& options,
                                         std::string& error);

/// The envelope keys redaction never changes (contract §7.7): an event's identity.
inline constexpr std::array<std::string_view, 5> kProtectedKeys = {"type", "session_id", "seq", "timestamp",
                                                                   "idempotency_key"};

struct PreparedRedaction;

/// The default redactor prepared once for a set of options (keys lowercased, patterns compiled):
/// what the SDK applies to its own events. Immutable; thread-safe (each call matches with the
/// calling thread's own match data).
class DefaultRedactor {
 public:
  /// Null, with `error` set, when an extra pattern does not compile. Throws only std::bad_alloc.
  static std::unique_ptr<DefaultRedactor> create(const policy::RedactOptions& options, std::string& error);
  ~DefaultRedactor();
  DefaultRedactor(const DefaultRedactor&) = delete;
  DefaultRedactor& operator=(const DefaultRedactor&) = delete;

  /// try_redact with these options.
  std::optional<nlohmann::json> redact(const nlohmann::json& event, std::string& error) const;

  enum class InPlace {
    unchanged,   ///< nothing needed replacing
    redacted,    ///< something in the payload or metadata was replaced
    needs_copy,  ///< not done: these options (or this event's span ids) need the copying walk
    failed,      ///< a pattern hit its limit (`error` says); the event may be partly redacted
  };
  /// Redacts an event's payload and metadata where they are, with the same result as redact()
  /// of the event's JSON. Throws only std::bad_alloc (the event may then be partly redacted).
  InPlace redact_in_place(Event& event, std::string& error) const;

 private:
  DefaultRedactor(std::unique_ptr<PreparedRedaction> prepared, bool hash_values);
  std::unique_ptr<PreparedRedaction> prepared_;
  bool hash_;
  bool in_place_ok_ = false;
};

/// Empty when `python_pattern` compiles as an extra pattern of RedactOptions, else the error.
std::string redact_pattern_error(std::string_view python_pattern);

PROMPTETHEUS_END_DETAIL_NAMESPACE
