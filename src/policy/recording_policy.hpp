// The policy a client applies to what it records (core/event_policy.hpp), made from Options:
// per-type sampling and redaction (the default redactor, or the caller's own). Head sampling is
// decided where a Session starts (a session not sampled records nothing at all).
#pragma once

#include "promptetheus/export.hpp"

#include <memory>
#include <string>
#include <vector>

#include "core/event_policy.hpp"
#include "promptetheus/options.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// What `options.redact` asks for.
enum class RedactMode {
  off,      ///< empty, "off" or "none"
  standard, ///< "default"
  hash,     ///< "hash": the default redactor with hash_values
  unknown,  ///< any other value: no redaction, with a warning
};
RedactMode redact_mode(const std::string& redact) noexcept;

/// Makes the policy in force for `options` into `out` (null when none is: no redaction, no
/// per-type rates). Problems with the options (an unknown redact name, an extra pattern that
/// does not compile) are appended to `problems`; a redaction that cannot be prepared fails every
/// event (closed unless redact_fail_open) rather than record unredacted events silently. Returns
/// false when the policy could not be made at all (out of memory): the caller must then record
/// nothing, since what it would record could be unredacted. Never throws.
bool make_event_policy(const Options& options, std::shared_ptr<const EventPolicy>& out,
                       std::vector<std::string>& problems) noexcept;

/// The policy in force as `promptetheus doctor` prints it under the reference's sample_rate and
/// redact lines: "  event rates  : ...", "  tail sample  : ...", "  limits       : ..." and
/// "  redaction    : ..." (no trailing newline).
std::string describe_policy(const Options& options);

PROMPTETHEUS_END_DETAIL_NAMESPACE
