// The default redactor behind policy::redact() (contract §7.7), with the reason of a failure for
// callers that report it (the `promptetheus redact` command).
#pragma once

#include "promptetheus/export.hpp"

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "promptetheus/policy.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The redacted event, or nullopt with `error` set when redaction failed (the event is not an
/// object, an extra pattern does not compile, a match hit its backtracking limit); redact()
/// then returns the fail-closed skeleton. Throws only std::bad_alloc.
std::optional<nlohmann::json> try_redact(const nlohmann::json& event, const policy::RedactOptions& options,
                                         std::string& error);

/// Empty when `python_pattern` compiles as an extra pattern of RedactOptions, else the error.
std::string redact_pattern_error(std::string_view python_pattern);

PROMPTETHEUS_END_DETAIL_NAMESPACE
