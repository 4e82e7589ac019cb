// Payload limits (contract §1.4 leaves them to the user: off unless configured): strings longer
// than a limit are cut, with a marker that says how much was cut, and an event whose line is
// still too long has its strings cut shorter until it fits, or, failing that, its payload
// replaced by {"truncated": true, "original_bytes": N}. Applied after redaction, so that a cut
// never splits a secret the patterns would have found. Envelope fields and keys are never cut.
#pragma once

#include "promptetheus/export.hpp"

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// "…[truncated N bytes]" (U+2026, then the count of bytes removed).
std::string truncation_marker(std::size_t removed_bytes);

/// Cuts `text` to at most `max_bytes` bytes (at a UTF-8 character boundary) followed by the
/// marker, when it is longer than `max_bytes`. Returns true when it cut.
bool truncate_string(std::string& text, std::size_t max_bytes);

/// truncate_string on every string of the event's payload and metadata (containers as deep as
/// the writer goes), except the payload fields that identify (name, call_id, artifact_id,
/// storage_path). Returns how many strings were cut. Throws only std::bad_alloc.
std::size_t truncate_strings(Event& event, std::size_t max_bytes);
/// The same on an event's payload, and on its metadata, as JSON.
std::size_t truncate_payload(nlohmann::json& payload, std::size_t max_bytes);
std::size_t truncate_metadata(nlohmann::json& metadata, std::size_t max_bytes);

PROMPTETHEUS_END_DETAIL_NAMESPACE
