// Reading one spool line (an event envelope in the JSON-spool form) back into an EncodedEvent:
// the line itself is kept as the event's JSON, and the facts a transport needs (session, seq,
// type, idempotency key, whether it starts or ends its session) are read in one streaming pass
// that builds no document. Only a session_started line, one per session, is parsed whole, for
// its trace body.
#pragma once

#include <string>
#include <string_view>

#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Fills `out` from one spool line (session_id from the line, or `fallback_session` when missing
/// or empty). Returns false for a blank or malformed line (not a JSON object). Trailing
/// whitespace and '\r' are dropped. Throws only std::bad_alloc.
bool parse_spool_line(std::string_view line, const std::string& fallback_session, EncodedEvent& out);

PROMPTETHEUS_END_DETAIL_NAMESPACE
