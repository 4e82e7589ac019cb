// How the dev server stores an OTLP span of a trace no agent session claimed (its `otel_<trace>`
// session): one row per span holding the span's events as map_otlp_request made them, without
// what the span's ids and the session give again (idempotency keys, timestamps, span ids, the
// trace id in each event's metadata). The events' texts are written when the session is read.
//
// Why: storing each event as its own JSON row (with a second index entry for its idempotency
// key) wrote about 1.8 KB of rows and index entries per HTTP-client span; this form writes about
// 0.9 KB, in one row and one index entry, and the receiver stores spans about twice as fast
// (docs/performance.md).
//
// A record is a list of fields, each `<decimal length>:<bytes>` (any bytes may appear in one):
//   "otlp-span/1", trace id, span id (16 hex), parent_id ("" for none), workspace_id, project_id,
//   then for each event: time in Unix nanoseconds, type, payload, metadata.
// A metadata field starting with 'T' is the metadata without its last member
// `,"otel.trace_id":"<trace id>"}` (every event map_otlp_request makes ends with it); one
// starting with 'W' is the whole metadata.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dev/otlp_ingest.hpp"

namespace promptetheus::devserver {

/// The record of one span's events: `events` are all the events of one span of trace
/// `trace_id`, in the order map_otlp_request made them; `parent_id` is the parent_id they are
/// stored under (nullptr: none).
std::string encode_otlp_span_record(const std::vector<const OtlpEvent*>& events, const std::string& trace_id,
                                    const std::string* parent_id, const std::string& workspace_id,
                                    const std::string& project_id);

/// One event of a record as stored in a session, split around its seq (the store chooses it).
struct SpanRecordEvent {
  std::int64_t time_unix_nano = 0;  // the seq it asks for
  std::string head;                 // ends with `"seq":`
  std::string tail;
};

/// Appends the events of `record` to `out`, in the record's order, as stored in `session_id`:
/// byte for byte the texts otlp_event_text writes for the events the record was made of.
/// False (and `out` as it was) when `record` is not a record this version writes.
bool decode_otlp_span_record(std::string_view record, const std::string& session_id,
                             std::vector<SpanRecordEvent>& out);

}  // namespace promptetheus::devserver
