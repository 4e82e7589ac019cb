#include "transport/otlp_span_builder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

#include "core/hex.hpp"
#include "core/ids.hpp"
#include "core/json_view.hpp"
#include "core/json_writer.hpp"
#include "core/trace_identity.hpp"
#include "promptetheus/client.hpp"
#include "promptetheus/trace_context.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

using Kind = JsonView::Kind;
using Ref = JsonView::Ref;

constexpr const char* kDefaultServiceName = "promptetheus-agent";
// OTLP enums (opentelemetry/proto/trace/v1/trace.proto), written as integers in JSON.
constexpr int kSpanKindInternal = 1;
constexpr int kStatusUnset = 0;
constexpr int kStatusError = 2;

std::string_view string_member(Ref object, std::string_view key) { return object[key].string(); }

// The payload's "name" of a state_change: span_start, span_end, session_started, ...
bool is_state(Ref event, std::string_view type, std::string_view name) {
  return event["type"].is(Kind::string) && event["type"].string() == type && event["payload"]["name"].is(Kind::string) &&
         event["payload"]["name"].string() == name;
}

std::optional<std::int64_t> timestamp_ns(Ref event) {
  const Ref ts = event["timestamp"];
  if (!ts.is(Kind::string)) return std::nullopt;
  const auto us = parse_timestamp(ts.string());
  if (!us) return std::nullopt;
  return *us * 1000;
}

// ---- AnyValue (§9.1 flattening, one level) --------------------------------------------

enum class Primitive { none, string, integer, floating };

Primitive primitive_of(Ref v) {
  switch (v.kind()) {
    case Kind::string: return Primitive::string;
    case Kind::integer: return Primitive::integer;
    case Kind::unsigned_integer:
      return v.unsigned_integer() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? Primitive::integer
                 : Primitive::none;  // beyond int64: no intValue, the list is written as text
    case Kind::floating: return Primitive::floating;
    default: return Primitive::none;
  }
}

// A JSON string of `value`; the view's own text when it already is that (no escapes, ASCII).
void write_string(std::string& out, Ref value) {
  if (value.plain_string()) {
    out += value.text();
  } else {
    write_json_string(out, value.string());
  }
}

void write_any_value(std::string& out, Ref v) {
  switch (v.kind()) {
    case Kind::string:
      out += "{\"stringValue\":";
      write_string(out, v);
      out += '}';
      return;
    case Kind::boolean:
      out += v.boolean() ? "{\"boolValue\":true}" : "{\"boolValue\":false}";
      return;
    case Kind::integer:
      out += "{\"intValue\":\"";  // int64 is a string
      out += std::to_string(v.integer());
      out += "\"}";
      return;
    case Kind::unsigned_integer: {
      const std::uint64_t u = v.unsigned_integer();
      out += u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? "{\"intValue\":\""
                                                                                       : "{\"stringValue\":\"";  // every digit, as text
      out += std::to_string(u);
      out += "\"}";
      return;
    }
    case Kind::floating:
      out += "{\"doubleValue\":";
      write_json_double(out, v.number());
      out += '}';
      return;
    case Kind::array: {
      const std::vector<Ref> elements = v.elements();
      Primitive kind = elements.empty() ? Primitive::none : primitive_of(elements.front());
      for (const Ref element : elements) {
        if (primitive_of(element) != kind) kind = Primitive::none;
      }
      if (kind == Primitive::none) break;
      out += "{\"arrayValue\":{\"values\":[";
      bool first = true;
      for (const Ref element : elements) {
        if (!first) out += ',';
        first = false;
        write_any_value(out, element);
      }
      out += "]}}";
      return;
    }
    default:
      break;
  }
  // Objects, mixed lists and the rest: their canonical JSON text.
  std::string text;
  write_json(text, v);
  out += "{\"stringValue\":";
  write_json_string(out, text);
  out += '}';
}

// Appends `,{"key":…,"value":…}` (the caller strips the first comma). Null values are
// skipped, as the reference skips None.
void add_attribute(std::string& out, std::string_view key, Ref value) {
  if (!value || value.is(Kind::null)) return;
  out += ",{\"key\":";
  write_json_string(out, key);
  out += ",\"value\":";
  write_any_value(out, value);
  out += '}';
}

void add_string_attribute(std::string& out, std::string_view key, std::string_view value) {
  out += ",{\"key\":";
  write_json_string(out, key);
  out += ",\"value\":{\"stringValue\":";
  write_json_string(out, value);
  out += "}}";
}

void add_members(std::string& out, std::string_view prefix, Ref object) {
  if (!object.is(Kind::object)) return;
  std::string key;
  for (const auto& [name, value] : object.sorted_members()) {
    key.assign(prefix).append(name);
    add_attribute(out, key, value);
  }
}

// "[" + list + "]", where list starts with a comma when not empty.
void append_list(std::string& out, const std::string& comma_list) {
  out += '[';
  if (!comma_list.empty()) out.append(comma_list, 1, std::string::npos);
  out += ']';
}

bool in_error(Ref event) {
  const std::string_view type = string_member(event, "type");
  const Ref payload = event["payload"];
  if (type == "error") return true;
  if (!payload) return false;
  if (type == "tool_result") {
    const Ref error = payload["error"];
    switch (error.kind()) {
      case Kind::boolean: return error.boolean();
      case Kind::string: return !error.string().empty();
      case Kind::array:
      case Kind::object: return error.size() != 0;
      case Kind::floating: return error.number() != 0.0;
      case Kind::integer: return error.integer() != 0;
      case Kind::unsigned_integer: return error.unsigned_integer() != 0;
      default: return false;  // absent or null
    }
  }
  if (type == "session_end") {
    std::string lowered(string_member(payload, "status"));
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    return lowered != "ok" && lowered != "success" && lowered != "completed";
  }
  if (type == "goal_check") {
    const Ref passed = payload["passed"];
    return passed.is(Kind::boolean) && !passed.boolean();
  }
  return false;
}

std::optional<std::int64_t> duration_ns(Ref marker) {
  const Ref d = marker["payload"]["duration_ms"];
  if (!d.is_number()) return std::nullopt;
  const double ns = std::round(d.number() * 1e6);
  if (!std::isfinite(ns) || ns < 0 || ns > 1e18) return std::nullopt;
  return static_cast<std::int64_t>(ns);
}

// A Promptetheus span id "span_<32 hex>" maps to its first 16 digits, as Span::trace_context
// gives it to the calls a span makes (the SDK writes no other form).
std::optional<std::string> otel_span_hex(std::string_view span_id) {
  SpanId id{};
  if (span_id.substr(0, 5) != "span_" || !parse_lower_hex(span_id.substr(5), id) || all_zero(id)) {
    return std::nullopt;
  }
  return lower_hex(otel_span_id(id));
}

// Appends `,` and one span event to `out`: the event's envelope and payload as
// `promptetheus.*` attributes. Written in place, as events are the bulk of the work.
void append_span_event(std::string& out, Ref event, std::int64_t time_ns) {
  out += ",{\"timeUnixNano\":\"";
  out += std::to_string(time_ns);
  out += "\",\"name\":";
  write_json_string(out, string_member(event, "type"));
  out += ",\"attributes\":[";
  const std::size_t list = out.size();
  add_attribute(out, "promptetheus.session_id", event["session_id"]);
  add_attribute(out, "promptetheus.seq", event["seq"]);
  add_attribute(out, "promptetheus.idempotency_key", event["idempotency_key"]);
  add_attribute(out, "promptetheus.event_type", event["type"]);
  add_members(out, "promptetheus.", event["payload"]);
  add_members(out, "promptetheus.metadata.", event["metadata"]);
  if (out.size() > list) out.erase(list, 1);  // the first attribute's comma
  out += "]}";
}

}  // namespace

struct OtlpSpanBuilder::Span {
  std::string span_id;
  std::string otel_id;               // 16 hex digits
  std::optional<std::string> parent_id;
  std::string name;
  std::optional<std::int64_t> start_ns;  // of the start marker
  std::optional<std::int64_t> end_ns;    // of the end marker
  std::optional<std::int64_t> duration;  // duration_ms, first non-null of start then end marker
  bool start_has_duration = false;
  std::optional<std::int64_t> first_event_ns, last_event_ns;
  std::string attributes;  // the start marker's payload, as attributes (leading comma)
  std::string events;      // span events (leading comma)
  std::size_t held = 0;    // bytes of `events` counted in held_bytes_
  bool error = false;
};

struct OtlpSpanBuilder::Session {
  std::string session_id;
  std::string trace_id;  // 32 hex digits
  std::string root_span_id;
  std::optional<std::string> root_parent;
  std::string trace_state;
  std::string service;  // service.name: configured, else the agent's name
  bool service_configured = false;
  std::optional<std::int64_t> first_ns, last_ns;
  std::string root_events;  // events outside any span (leading comma)
  std::size_t held = 0;
  bool root_error = false;
  std::unordered_map<std::string, Span> open;
  std::unordered_map<std::string, std::string> started;  // span id -> its OpenTelemetry id
  std::unordered_set<std::string> ended;
};

OtlpSpanBuilder::OtlpSpanBuilder(OtlpSpanBuilderConfig config) : config_(std::move(config)) {}
OtlpSpanBuilder::~OtlpSpanBuilder() = default;

std::size_t OtlpSpanBuilder::open_sessions() const noexcept { return sessions_.size(); }

void OtlpSpanBuilder::add(const EncodedEvent& encoded) {
  if (!view_.parse(encoded.json) || !view_.root().is(Kind::object)) return;
  const Ref event = view_.root();
  const std::string sid = encoded.session_id.empty() ? std::string(string_member(event, "session_id")) : encoded.session_id;
  auto& slot = sessions_[sid];
  if (!slot) {
    // The ids SessionHandle::trace_context() gives: derived from the session id, the trace id
    // replaced by the incoming one that session_started recorded.
    slot = std::make_unique<Session>();
    slot->session_id = sid;
    TraceIdentity identity = trace_identity(sid, TraceContext{});
    slot->trace_id = lower_hex(identity.trace_id);
    slot->root_span_id = lower_hex(identity.root_span_id);
    const auto service = config_.resource_attributes.find("service.name");
    slot->service_configured = service != config_.resource_attributes.end();
    slot->service = slot->service_configured ? service->second : kDefaultServiceName;
  }
  Session& session = *slot;
  const std::optional<std::int64_t> ns = timestamp_ns(event);
  if (ns) {
    session.first_ns = session.first_ns ? std::min(*session.first_ns, *ns) : *ns;
    session.last_ns = session.last_ns ? std::max(*session.last_ns, *ns) : *ns;
  }
  const std::int64_t at = ns.value_or(session.last_ns.value_or(0));

  if (is_state(event, "state_change", "session_started")) {
    const Ref metadata = event["metadata"];
    std::array<std::uint8_t, 16> incoming{};
    std::array<std::uint8_t, 8> parent{};
    const std::string trace_hex(string_member(metadata, kTraceIdKey));
    if (parse_lower_hex(trace_hex, incoming) && !all_zero(incoming)) {
      session.trace_id = trace_hex;
      const std::string parent_hex(string_member(metadata, kParentSpanIdKey));
      if (parse_lower_hex(parent_hex, parent) && !all_zero(parent)) session.root_parent = parent_hex;
      // The vendors' tracestate travels with the trace, kept only when W3C's grammar accepts it.
      const Ref tracestate = metadata[kTracestateKey];
      if (tracestate.is(Kind::string)) {
        session.trace_state =
            TraceContext::parse("00-" + trace_hex + "-" + session.root_span_id + "-01", tracestate.string()).tracestate();
      }
    }
    const std::string_view agent = string_member(event["payload"]["after"], "agent");
    if (!agent.empty() && !session.service_configured) session.service = agent;
  }

  const std::string span_id(string_member(event, "span_id"));
  const bool start = !span_id.empty() && is_state(event, "state_change", "span_start");
  const bool end = !span_id.empty() && is_state(event, "state_change", "span_end");
  if (span_id.empty() || session.ended.count(span_id) != 0) {
    // Outside any span (or in one already written): an event of the root span.
    if (!start && !end) {
      hold_event(session.root_events, session.held, event, at);
      session.root_error = session.root_error || in_error(event);
    }
  } else {
    auto [it, inserted] = session.open.try_emplace(span_id);
    Span& span = it->second;
    if (inserted) {
      span.span_id = span_id;
      span.otel_id = otel_span_hex(span_id).value_or(std::string());
    }
    if (start) {
      span.start_ns = ns;
      const Ref payload = event["payload"];
      const std::string_view parent = string_member(event, "parent_id");
      if (!parent.empty()) span.parent_id = std::string(parent);
      const std::string_view name = string_member(payload, "span_name");
      if (!name.empty()) span.name = name;
      const Ref d = payload["duration_ms"];
      span.start_has_duration = d && !d.is(Kind::null);
      if (span.start_has_duration) span.duration = duration_ns(event);
      span.attributes.clear();
      add_members(span.attributes, "promptetheus.span.", payload);
      if (!span.otel_id.empty()) session.started.emplace(span_id, span.otel_id);
    } else if (end) {
      span.end_ns = ns;
      if (span.name.empty()) span.name = string_member(event["payload"], "span_name");
      if (!span.start_has_duration) span.duration = duration_ns(event);
      finish_span(session, span);
      session.ended.insert(span_id);
      session.open.erase(it);
    } else {
      if (ns) {
        span.first_event_ns = span.first_event_ns ? std::min(*span.first_event_ns, *ns) : *ns;
        span.last_event_ns = span.last_event_ns ? std::max(*span.last_event_ns, *ns) : *ns;
      }
      hold_event(span.events, span.held, event, ns.value_or(span.start_ns.value_or(at)));
      span.error = span.error || in_error(event);
    }
  }
  if (encoded.ends_session || string_member(event, "type") == "session_end") {
    finish_session(session);
    sessions_.erase(sid);
  }
}

// One OTLP Span of `session`'s trace. `attributes` and `events` are comma-led lists; an empty
// parent is left out (a root span); the end is never before the start.
std::string OtlpSpanBuilder::span_json(const Session& session, const std::string& span_hex, const std::string& parent_hex,
                                       const std::string& name, std::int64_t start_ns, std::int64_t end_ns,
                                       const std::string& attributes, const std::string& events, bool error) {
  std::string out = "{\"traceId\":\"" + session.trace_id + "\",\"spanId\":\"" + span_hex + "\"";
  if (!session.trace_state.empty()) {
    out += ",\"traceState\":";
    write_json_string(out, session.trace_state);
  }
  if (!parent_hex.empty()) out += ",\"parentSpanId\":\"" + parent_hex + "\"";
  out += ",\"name\":";
  write_json_string(out, name);
  out += ",\"kind\":" + std::to_string(kSpanKindInternal);
  out += ",\"startTimeUnixNano\":\"" + std::to_string(start_ns) + "\",\"endTimeUnixNano\":\"" +
         std::to_string(std::max(start_ns, end_ns)) + "\",\"attributes\":";
  append_list(out, attributes);
  out += ",\"events\":";
  append_list(out, events);
  out += ",\"status\":{\"code\":" + std::to_string(error ? kStatusError : kStatusUnset) + "}}";
  return out;
}

void OtlpSpanBuilder::hold_event(std::string& events, std::size_t& held, JsonView::Ref event, std::int64_t time_ns) {
  const std::size_t before = events.size();
  append_span_event(events, event, time_ns);
  const std::size_t added = events.size() - before;
  if (held_bytes_ + added > config_.max_held_bytes) {
    events.resize(before);
    ++dropped_events_;
    return;
  }
  held_bytes_ += added;
  held += added;
}

void OtlpSpanBuilder::finish_span(Session& session, Span& span) {
  // A span without an OpenTelemetry id of its own (not written by this SDK) is left out.
  if (span.otel_id.empty()) {
    held_bytes_ -= span.held;
    span.held = 0;
    return;
  }
  // Start at the start marker, else the span's first event, else the session's start. End =
  // start + duration_ms, else the end marker, else the last event.
  const std::int64_t session_start = session.first_ns.value_or(0);
  const std::int64_t start_ns = span.start_ns ? *span.start_ns : span.first_event_ns.value_or(session_start);
  std::int64_t end_ns = span.end_ns ? *span.end_ns : span.last_event_ns.value_or(start_ns);
  if (span.duration && start_ns <= std::numeric_limits<std::int64_t>::max() - *span.duration) {
    end_ns = start_ns + *span.duration;
  }
  // The parent is a span this session started, else the root (unknown parents).
  std::string parent = session.root_span_id;
  if (span.parent_id) {
    const auto p = session.started.find(*span.parent_id);
    if (p != session.started.end() && p->second != span.otel_id) parent = p->second;
  }
  std::string attributes;
  add_string_attribute(attributes, "promptetheus.span_id", span.span_id);
  if (span.parent_id) add_string_attribute(attributes, "promptetheus.parent_id", *span.parent_id);
  add_string_attribute(attributes, "promptetheus.session_id", session.session_id);
  attributes += span.attributes;

  std::string out = span_json(session, span.otel_id, parent, span.name.empty() ? std::string("span") : span.name,
                              start_ns, end_ns, attributes, span.events, span.error);
  held_bytes_ -= span.held;
  span.held = 0;
  emit(session, std::move(out));
}

void OtlpSpanBuilder::finish_session(Session& session) {
  // Spans still open end with the session, as of their last event.
  std::vector<std::string> open_ids;
  for (const auto& entry : session.open) open_ids.push_back(entry.first);
  std::sort(open_ids.begin(), open_ids.end());
  for (const std::string& id : open_ids) finish_span(session, session.open[id]);
  session.open.clear();

  const std::int64_t first = session.first_ns.value_or(0);
  const std::int64_t last = session.last_ns.value_or(first);
  std::string attributes;
  add_string_attribute(attributes, "promptetheus.session_id", session.session_id);
  std::string out = span_json(session, session.root_span_id, session.root_parent.value_or(std::string()),
                              "promptetheus.session " + session.session_id, first, last, attributes,
                              session.root_events, session.root_error);
  held_bytes_ -= session.held;
  session.held = 0;
  emit(session, std::move(out));
}

void OtlpSpanBuilder::finish_all() {
  std::vector<std::string> ids;
  for (const auto& entry : sessions_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) finish_session(*sessions_[id]);
  sessions_.clear();
}

void OtlpSpanBuilder::emit(const Session& session, std::string span_json) {
  finished_[session.service].push_back(std::move(span_json));
  ++finished_count_;
}

std::optional<std::string> OtlpSpanBuilder::take_request(std::size_t& spans) {
  spans = finished_count_;
  if (finished_count_ == 0) return std::nullopt;
  std::string out = "{\"resourceSpans\":[";
  bool first_resource = true;
  for (auto& [service, list] : finished_) {
    if (!first_resource) out += ',';
    first_resource = false;
    std::string attributes;
    add_string_attribute(attributes, "service.name", service);
    for (const auto& [key, value] : config_.resource_attributes) {
      if (key != "service.name") add_string_attribute(attributes, key, value);
    }
    out += "{\"resource\":{\"attributes\":";
    append_list(out, attributes);
    out += "},\"scopeSpans\":[{\"scope\":{\"name\":\"promptetheus\",\"version\":";
    write_json_string(out, promptetheus::version());
    out += "},\"spans\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) out += ',';
      out += list[i];
    }
    out += "]}]}";
  }
  out += "]}";
  finished_.clear();
  finished_count_ = 0;
  return out;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
