#include "dev/otlp_receiver.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/hex.hpp"
#include "core/ids.hpp"
#include "core/trace_identity.hpp"
#include "dev/otlp_ingest.hpp"
#include "dev/otlp_protobuf.hpp"
#include "dev/otlp_span_record.hpp"

namespace promptetheus::devserver {

using nlohmann::json;

namespace {

// google.rpc.Code INVALID_ARGUMENT: what OTLP/HTTP answers a request it cannot read with.
constexpr std::int32_t kInvalidArgument = 3;

OtlpReceipt failure(int status, const std::string& message, bool protobuf) {
  OtlpReceipt receipt;
  receipt.status = status;
  if (protobuf) {
    receipt.content_type = "application/x-protobuf";
    receipt.body = encode_rpc_status(kInvalidArgument, message);
  } else {
    receipt.content_type = "application/json";
    receipt.body = json{{"code", kInvalidArgument}, {"message", message}}.dump(-1, ' ', false,
                                                                               json::error_handler_t::replace);
  }
  return receipt;
}

std::string seconds_timestamp(std::int64_t unix_nano) {
  std::string text;
  detail::append_timestamp(text, unix_nano / 1000);
  return text.substr(0, 19) + "Z";  // the form the other routes give started_at
}

// The payload name of a state_change event ("span_start", "session_started", ...), else empty.
std::string state_change_name(const json& event) {
  if (!event.is_object() || event.value("type", "") != "state_change") return {};
  auto payload = event.find("payload");
  if (payload == event.end() || !payload->is_object()) return {};
  return payload->value("name", "");
}

// Stores the spans of a trace no agent session claimed in its own session `otel_<trace>`, one
// row per span (dev/otlp_span_record.hpp); moves them into an agent session that claimed the
// trace meanwhile.
void store_own_trace(DevStore& store, const OtlpTrace& trace, const std::string& workspace_id,
                     const std::string& project_id, std::vector<std::string>& changed) {
  const std::string session = "otel_" + trace.trace_id;
  // A span's events are consecutive in trace.events, its span_start first (map_otlp_request
  // adds them span by span; a span sent twice is two runs, the second a duplicate).
  std::vector<OtlpSpanRow> spans;
  std::vector<const OtlpEvent*> span_events;
  std::string parent_id;
  for (std::size_t i = 0; i < trace.events.size(); ++i) {
    const OtlpEvent& event = trace.events[i];
    span_events.push_back(&event);
    if (i + 1 < trace.events.size() && !trace.events[i + 1].starts_span) continue;
    const std::string span_hex = event.span_id.substr(5);  // "span_<16 hex>"
    const bool has_parent = !event.parent_span_hex.empty();
    if (has_parent) parent_id = "span_" + event.parent_span_hex;
    spans.push_back(OtlpSpanRow{span_hex,
                                encode_otlp_span_record(span_events, trace.trace_id, has_parent ? &parent_id : nullptr,
                                                        workspace_id, project_id),
                                otlp_idempotency_key(trace.trace_id, span_hex, 0)});
    span_events.clear();
  }
  // The trace's row is created or updated with its spans, in one transaction.
  const json initial{{"id", session},
                     {"user_goal", ""},
                     {"agent", trace.service_name},
                     {"environment", nullptr},
                     {"metadata", {{"otel.trace_id", trace.trace_id}}},
                     {"tags", nullptr},
                     {"source", "otlp"},
                     {"workspace_id", workspace_id},
                     {"project_id", project_id},
                     {"status", trace.failed ? "failed" : "completed"},
                     {"started_at", seconds_timestamp(trace.earliest_start_unix_nano)}};
  const std::string started_at = initial["started_at"];
  const bool failed = trace.failed;
  const std::vector<EventOutcome> outcomes = store.upsert_trace_with_spans(initial, [&](json& row) {
    if (failed) row["status"] = "failed";
    auto stored = row.find("started_at");
    if (stored == row.end() || !stored->is_string() || started_at < stored->get<std::string>()) {
      row["started_at"] = started_at;
    }
  }, spans);
  if (std::find(outcomes.begin(), outcomes.end(), EventOutcome::stored) != outcomes.end()) changed.push_back(session);
  // An agent session may have claimed the trace while these spans were mapped: they move there
  // now, as they would have when the claim was made.
  if (auto late_claim = store.otel_trace_claim(trace.trace_id)) {
    if (store.adopt_otel_session(session, late_claim->session_id, late_claim->root_span_hex)) {
      changed.push_back(late_claim->session_id);
    }
  }
}

// Stores the events of a trace that agent session `claim.session_id` claimed in that session,
// under its spans; returns the number of spans some event of which could not be stored.
std::int64_t store_joined_trace(DevStore& store, OtlpTrace& trace, const OtelTraceClaim& claim,
                                const std::string& workspace_id, const std::string& project_id,
                                std::vector<std::string>& changed) {
  const std::string& session = claim.session_id;

  // The parents the spans name: agent spans (OTel id → "span_<32 hex>"), and OTel spans of the
  // trace, in this request or stored by an earlier one. A parent that is neither may be an
  // agent span the SDK has not delivered yet: the span waits for it.
  std::unordered_set<std::string> otel_spans;
  for (const OtlpEvent& event : trace.events) otel_spans.insert(event.span_id.substr(5));  // "span_<16 hex>"
  std::vector<std::string> parent_hexes;
  for (const OtlpEvent& event : trace.events) {
    if (!event.parent_span_hex.empty() && event.parent_span_hex != claim.root_span_hex &&
        otel_spans.count(event.parent_span_hex) == 0) {
      parent_hexes.push_back(event.parent_span_hex);
    }
  }
  const std::unordered_map<std::string, std::string> agent_spans = store.agent_spans(session, parent_hexes);
  std::unordered_map<std::string, std::string> parent_of_key;  // span_start key → OTel id
  std::vector<std::string> keys;
  for (const std::string& hex : parent_hexes) {
    if (agent_spans.count(hex) != 0) continue;
    keys.push_back(otlp_idempotency_key(trace.trace_id, hex, 0));
    parent_of_key.emplace(keys.back(), hex);
  }
  for (const std::string& key : store.stored_event_keys(session, keys)) otel_spans.insert(parent_of_key.at(key));
  // The parent_id of a span's events (none: null), and the OTel id to wait for when the parent
  // may be an agent span the SDK has not delivered yet.
  const auto parent_of = [&](const std::string& parent_hex, std::string& pending) -> std::optional<std::string> {
    if (parent_hex.empty() || parent_hex == claim.root_span_hex) return std::nullopt;  // under the session itself
    auto agent = agent_spans.find(parent_hex);
    if (agent != agent_spans.end()) return agent->second;
    if (otel_spans.count(parent_hex) == 0) pending = parent_hex;
    return "span_" + parent_hex;
  };

  // In time order (a span's own events are already in order), so seqs rise with time.
  std::vector<std::size_t> order(trace.events.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return trace.events[a].time_unix_nano < trace.events[b].time_unix_nano;
  });
  std::vector<UnnumberedEvent> events;
  std::vector<std::string> span_of;
  events.reserve(order.size());
  span_of.reserve(order.size());
  for (std::size_t i : order) {
    OtlpEvent& source = trace.events[i];
    // A span exported from this very session (the SDK's or CLI's OTLP export of it, sent here
    // too) repeats the session's own events: nothing to add.
    if (source.recorded_session == session) continue;
    UnnumberedEvent event;
    const std::optional<std::string> parent = parent_of(source.parent_span_hex, event.pending_parent_hex);
    otlp_event_text(source, session, parent ? &*parent : nullptr, workspace_id, project_id, event.head,
                    event.tail);
    event.idempotency_key = std::move(source.idempotency_key);
    event.preferred_seq = source.time_unix_nano;
    // Spans that waited for this one as a possible agent span have their parent now.
    if (source.starts_span) event.settles_pending_hex = source.span_id.substr(5);
    events.push_back(std::move(event));
    span_of.push_back(std::move(source.span_id));
  }
  const std::optional<std::vector<EventOutcome>> outcomes = store.add_events_at_free_seq(session, std::move(events));
  if (!outcomes) return 0;
  std::set<std::string> failed_spans;
  bool stored = false;
  for (std::size_t i = 0; i < outcomes->size(); ++i) {
    if ((*outcomes)[i] == EventOutcome::seq_conflict) failed_spans.insert(span_of[i]);
    if ((*outcomes)[i] == EventOutcome::stored) stored = true;
  }
  if (stored) changed.push_back(session);
  return static_cast<std::int64_t>(failed_spans.size());
}

// Stores the events of one trace; returns the number of spans some event of which could not be
// stored.
std::int64_t store_trace(DevStore& store, OtlpTrace& trace, const std::string& workspace_id,
                         const std::string& project_id, std::vector<std::string>& changed) {
  std::optional<OtelTraceClaim> claim = store.otel_trace_claim(trace.trace_id);
  if (claim && store.has_trace(claim->session_id)) {
    return store_joined_trace(store, trace, *claim, workspace_id, project_id, changed);
  }
  store_own_trace(store, trace, workspace_id, project_id, changed);
  return 0;
}

}  // namespace

OtlpReceipt receive_otlp_traces(DevStore& store, const RawBody& body, const std::string& media_type,
                                const BodyLimits& limits, const std::string& workspace_id,
                                const std::string& project_id) {
  const bool protobuf = media_type == "application/x-protobuf";
  if (!protobuf && media_type != "application/json") {
    return failure(415, "unsupported content type: use application/json or application/x-protobuf", false);
  }
  detail::JsonView request;
  std::string decoded_text;  // a protobuf body as the JSON document it stands for
  std::string error;
  if (protobuf) {
    auto decoded = decode_otlp_trace_request(body.bytes, error);
    if (!decoded) return failure(400, "malformed protobuf body: " + error, true);
    decoded_text = decoded->dump(-1, ' ', false, json::error_handler_t::replace);
    if (!request.parse(decoded_text)) return failure(400, "malformed protobuf body: nested too deep", true);
  } else if (auto http_error = view_json_object(body, limits, request)) {
    return failure(400, http_error->detail, false);
  }
  auto mapping = map_otlp_request(request.root(), error);
  if (!mapping) return failure(400, error, protobuf);

  OtlpReceipt receipt;
  std::int64_t rejected = mapping->rejected_spans;
  std::string message = mapping->error_message;
  for (OtlpTrace& trace : mapping->traces) {
    const std::int64_t unstored = store_trace(store, trace, workspace_id, project_id, receipt.changed_sessions);
    if (unstored > 0) {
      rejected += unstored;
      if (message.empty()) message = "trace " + trace.trace_id + ": no free seq for some events";
    }
  }
  receipt.status = 200;
  if (protobuf) {
    receipt.content_type = "application/x-protobuf";
    receipt.body = encode_otlp_trace_response(rejected, message);
  } else {
    receipt.content_type = "application/json";
    json response = json::object();
    if (rejected > 0 || !message.empty()) {
      // int64 fields are strings in the protobuf JSON mapping
      response["partialSuccess"] = json{{"rejectedSpans", std::to_string(rejected)}, {"errorMessage", message}};
    }
    receipt.body = response.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return receipt;
}

std::string agent_span_started(const json& event) {
  if (state_change_name(event) != "span_start") return {};
  auto span_id = event.find("span_id");
  return span_id != event.end() && span_id->is_string() ? span_id->get<std::string>() : std::string();
}

std::vector<std::string> join_agent_event(DevStore& store, const std::string& session_id, const json& event) {
  if (const std::string span_id = agent_span_started(event); !span_id.empty()) {
    if (store.resolve_otel_parents(session_id, span_id) == 0) return {};
    return {session_id};
  }
  if (state_change_name(event) != "session_started") return {};
  // The ids the SDK's trace_context() gives: derived from the session id, the trace id replaced
  // by an incoming one that session_started recorded.
  const detail::TraceIdentity identity = detail::trace_identity(session_id, TraceContext{});
  std::string trace_id = detail::lower_hex(identity.trace_id);
  auto metadata = event.find("metadata");
  if (metadata != event.end() && metadata->is_object()) {
    auto incoming = metadata->find(detail::kTraceIdKey);
    std::array<std::uint8_t, 16> bytes{};
    if (incoming != metadata->end() && incoming->is_string() &&
        detail::parse_lower_hex(incoming->get_ref<const std::string&>(), bytes) && !detail::all_zero(bytes)) {
      trace_id = incoming->get<std::string>();
    }
  }
  const std::string root_span_hex = detail::lower_hex(identity.root_span_id);
  store.claim_otel_trace(trace_id, OtelTraceClaim{session_id, root_span_hex});
  // Spans of the trace that arrived before the session started wait in otel_<trace>: they join
  // the session now (when this session's claim is the one that holds).
  const auto claim = store.otel_trace_claim(trace_id);
  const std::string waiting = "otel_" + trace_id;
  if (claim && claim->session_id == session_id && store.adopt_otel_session(waiting, session_id, root_span_hex)) {
    return {session_id, waiting};
  }
  return {};
}

}  // namespace promptetheus::devserver
