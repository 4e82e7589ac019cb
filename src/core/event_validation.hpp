// Envelope validation of one event (spec §1.3): the SDK runs it before queueing an event, the dev
// server runs it on ingest, the CLI runs it on import. The messages are part of the wire contract
// (the server returns them verbatim as rejection reasons and 422 details), so they live here only.
#pragma once

#include "promptetheus/export.hpp"

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The reference SDK raises TypeError for a wrong JSON type and ValueError for a wrong value.
enum class ValidationErrorKind { type_error, value_error };

struct ValidationError {
  ValidationErrorKind kind;
  std::string message;  // exact §1.3 text, e.g. "event.seq must be >= 0"
};

/// Whether `type` is one of kEventTypes (core/event.hpp).
bool is_known_event_type(std::string_view type) noexcept;

/// Checks one event in the §1.3 order and returns the first failure, or nothing when the event is
/// valid. Never throws (a failure to build a message degrades to a generic one).
std::optional<ValidationError> validate_event(const nlohmann::json& event) noexcept;

/// Python's repr() of a str, as used inside validation messages (`unknown event type: 'x'`):
/// single quotes unless the text contains ' and no ", escapes for \\ \n \r \t and the quote, and
/// \xNN / \uNNNN / \UNNNNNNNN for non-printable code points. Printability of non-ASCII code points
/// is approximated without Unicode tables: C0/C1 controls, the space separators other than U+0020,
/// the line/paragraph separators, the common format characters, private-use code points,
/// noncharacters and invalid UTF-8 bytes are escaped; everything else is printed literally.
std::string python_str_repr(std::string_view utf8);

PROMPTETHEUS_END_DETAIL_NAMESPACE
