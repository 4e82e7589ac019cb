#include "analysis/otlp_export.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/pyrepr.hpp"
#include "analysis/unicode.hpp"
#include "core/hex.hpp"
#include "core/ids.hpp"
#include "core/sha256.hpp"
#include "core/trace_identity.hpp"
#include "promptetheus/client.hpp"

namespace promptetheus::analysis {

namespace {

using ojson = nlohmann::ordered_json;

// OTLP enums (opentelemetry/proto/trace/v1/trace.proto), written as integers in JSON.
constexpr int kSpanKindInternal = 1;
constexpr int kStatusUnset = 0;
constexpr int kStatusError = 2;

constexpr const char* kDefaultServiceName = "promptetheus-agent";

// Lowercase hex of exactly 2*N digits, not all zero (W3C's rule for trace and parent ids).
template <std::size_t N>
bool parse_hex_id(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  return detail::parse_lower_hex(text, out) && !detail::all_zero(out);
}

// Strings decoded from JSON may hold lone surrogates (from `\ud800` escapes), which are not
// UTF-8: nlohmann's dump would throw on them, and OTLP receivers reject them. U+FFFD instead.
std::string clean_utf8(std::string s) {
  if (is_valid_utf8(s)) return s;
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = next_code_point(s, i);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    append_utf8(out, cp);
  }
  return out;
}

std::string text_of(const JsonView& v) { return clean_utf8(v.as_string()); }

// The value's source text without whitespace outside strings, NaN and ±Infinity written as
// null (JSON has no such tokens). Strings are kept as written, escapes included, so the text
// is exact (large integers keep every digit) and valid JSON. The input was validated on read.
std::string compact_json(const JsonView& v) {
  const std::string_view raw = v.raw();
  std::string out;
  out.reserve(raw.size());
  std::size_t i = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c == '"') {
      const std::size_t start = i++;
      while (i < raw.size() && raw[i] != '"') i += raw[i] == '\\' ? 2 : 1;
      ++i;
      out.append(raw.substr(start, std::min(i, raw.size()) - start));
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == 'N' || c == 'I' || (c == '-' && i + 1 < raw.size() && raw[i + 1] == 'I')) {
      out += "null";
      i += c == 'N' ? 3 : (c == 'I' ? 8 : 9);
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

// The primitive kinds a list may hold and stay a list (§9.1 flattening).
enum class Primitive { none, string, integer, floating };

std::optional<std::int64_t> int64_of(const JsonView& v) noexcept {
  if (!v.is_number() || !v.is_integer_literal()) return std::nullopt;
  const std::string_view raw = v.raw();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
  if (ec != std::errc() || end != raw.data() + raw.size()) return std::nullopt;
  return value;
}

Primitive primitive_of(const JsonView& v) noexcept {
  if (v.is_string()) return Primitive::string;
  if (!v.is_number()) return Primitive::none;
  if (!v.is_integer_literal()) return Primitive::floating;
  // An integer beyond 64 bits has no intValue: such a list is written as text.
  return int64_of(v) ? Primitive::integer : Primitive::none;
}

ojson double_value(double d) {
  ojson value = ojson::object();
  // The protobuf JSON mapping writes non-finite doubles as these strings.
  if (std::isnan(d)) {
    value["doubleValue"] = "NaN";
  } else if (std::isinf(d)) {
    value["doubleValue"] = d > 0 ? "Infinity" : "-Infinity";
  } else {
    value["doubleValue"] = d;
  }
  return value;
}

ojson int_value(std::int64_t i) {
  ojson value = ojson::object();
  value["intValue"] = std::to_string(i);  // 64-bit integers are strings in JSON
  return value;
}

ojson string_value(std::string s) {
  ojson value = ojson::object();
  value["stringValue"] = std::move(s);
  return value;
}

// An AnyValue for a non-null JSON value (§9.1 flattening, one level).
ojson any_value(const JsonView& v) {
  switch (v.kind()) {
    case JsonKind::string: return string_value(text_of(v));
    case JsonKind::boolean: {
      ojson value = ojson::object();
      value["boolValue"] = v.is_true();
      return value;
    }
    case JsonKind::number:
      if (v.is_integer_literal()) {
        if (const auto i = int64_of(v)) return int_value(*i);
        return string_value(std::string(v.raw()));  // beyond int64: every digit, as text
      }
      return double_value(v.as_double());
    case JsonKind::array: {
      Primitive kind = Primitive::none;
      bool uniform = !v.empty_container();
      bool first = true;
      v.for_each_element([&](const JsonView& element) {
        const Primitive p = primitive_of(element);
        if (first) kind = p;
        first = false;
        if (p == Primitive::none || p != kind) uniform = false;
      });
      if (!uniform) break;
      ojson values = ojson::array();
      v.for_each_element([&](const JsonView& element) { values.push_back(any_value(element)); });
      ojson value = ojson::object();
      value["arrayValue"]["values"] = std::move(values);
      return value;
    }
    default: break;
  }
  return string_value(compact_json(v));
}

void add_attribute(ojson& attributes, std::string key, ojson value) {
  ojson attribute = ojson::object();
  attribute["key"] = std::move(key);
  attribute["value"] = std::move(value);
  attributes.push_back(std::move(attribute));
}

// Absent and null values are skipped, as the reference skips None.
void add_flattened(ojson& attributes, std::string key, const JsonView& v) {
  if (!v.present() || v.is_null()) return;
  add_attribute(attributes, std::move(key), any_value(v));
}

// Each member of an object under `prefix` (a Python dict: each key once, its last value).
void add_members(ojson& attributes, const std::string& prefix, const JsonView& object) {
  if (!object.is_object()) return;
  for (const auto& [key, value] : dict_members(object)) add_flattened(attributes, prefix + text_of(key), value);
}

// ---- timestamps ------------------------------------------------------------------------

// Unix nanoseconds of an ISO-8601 timestamp, exactly: `Z`, `±HH:MM` or no offset (naive
// timestamps are UTC, as the reference reads them); up to nine fraction digits.
std::optional<std::int64_t> timestamp_ns(const JsonView& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string text = v.as_string();
  std::string_view body = text;
  std::int64_t offset_minutes = 0;
  if (!body.empty() && (body.back() == 'Z' || body.back() == 'z')) {
    body.remove_suffix(1);
  } else if (body.size() > 6 && (body[body.size() - 6] == '+' || body[body.size() - 6] == '-') &&
             body[body.size() - 3] == ':') {
    const std::string_view tz = body.substr(body.size() - 5);
    int hours = 0, minutes = 0;
    if (std::from_chars(tz.data(), tz.data() + 2, hours).ptr != tz.data() + 2 ||
        std::from_chars(tz.data() + 3, tz.data() + 5, minutes).ptr != tz.data() + 5 || hours > 23 ||
        minutes > 59) {
      return std::nullopt;
    }
    offset_minutes = (hours * 60 + minutes) * (body[body.size() - 6] == '-' ? -1 : 1);
    body.remove_suffix(6);
  }
  // Fraction digits past the sixth are nanoseconds parse_timestamp would drop.
  std::int64_t extra_ns = 0;
  const std::size_t dot = body.find('.');
  if (dot != std::string_view::npos && body.size() - dot - 1 > 6) {
    const std::string_view extra = body.substr(dot + 7);
    if (extra.size() > 3) return std::nullopt;
    for (std::size_t i = 0; i < 3; ++i) {
      const char c = i < extra.size() ? extra[i] : '0';
      if (c < '0' || c > '9') return std::nullopt;
      extra_ns = extra_ns * 10 + (c - '0');
    }
    body = body.substr(0, dot + 7);
  }
  const auto us = detail::parse_timestamp(std::string(body) + "Z");
  if (!us) return std::nullopt;
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 1000 - 86'400'000'000LL;
  if (*us > kLimit || *us < -kLimit) return std::nullopt;
  return *us * 1000 + extra_ns - offset_minutes * 60'000'000'000LL;
}

std::string ns_text(std::int64_t ns) { return std::to_string(ns); }

// ---- the span tree ----------------------------------------------------------------------

struct Node {
  std::string span_id;
  std::optional<std::string> parent_id;
  std::optional<std::string> name;
  const Event* start = nullptr;  // the span_start marker
  const Event* end = nullptr;    // the span_end marker
  std::vector<const Event*> events;
  std::size_t depth = 0;
  std::array<std::uint8_t, 8> otel_id{};
};

std::optional<std::string> nonempty_string(const JsonView& v) {
  if (!v.is_string()) return std::nullopt;
  std::string s = text_of(v);
  if (s.empty()) return std::nullopt;
  return s;
}

// A Promptetheus span id "span_<32 hex>" maps to its first 16 digits, as Span::trace_context
// gives it to the calls a span makes. Ids of another form (imported sessions) are hashed.
std::array<std::uint8_t, 8> otel_span_id_of(const std::string& span_id) {
  detail::SpanId id{};
  if (span_id.rfind("span_", 0) == 0 && parse_hex_id(std::string_view(span_id).substr(5), id)) {
    return detail::otel_span_id(id);
  }
  const auto digest = detail::sha256("promptetheus.span\n" + span_id);
  std::copy(digest.begin(), digest.begin() + 16, id.begin());
  return detail::otel_span_id(id);
}

bool in_error(const Event& e) {
  if (e.type.string_equals("error")) return true;
  if (e.type.string_equals("tool_result")) return py_truthy(e.payload_get("error"));
  if (e.type.string_equals("session_end")) {
    const JsonView status = e.payload_get("status");
    const std::string lowered = status.is_string() ? py_lower(text_of(status)) : std::string();
    return lowered != "ok" && lowered != "success" && lowered != "completed";
  }
  if (e.type.string_equals("goal_check")) return e.payload_get("passed").is_false();
  return false;
}

// duration_ms of a marker as a number of nanoseconds, when it is a usable number.
std::optional<std::int64_t> duration_ns(const Event* marker) {
  if (marker == nullptr) return std::nullopt;
  const JsonView d = marker->payload_get("duration_ms");
  if (!d.is_number()) return std::nullopt;
  const double ns = std::round(d.as_double() * 1e6);
  if (!std::isfinite(ns) || ns < 0 || ns > 1e18) return std::nullopt;
  return static_cast<std::int64_t>(ns);
}

std::optional<std::int64_t> event_time(const Event* e) {
  return e != nullptr ? timestamp_ns(e->timestamp) : std::nullopt;
}

ojson span_event(const Event& e, std::int64_t fallback_ns) {
  ojson event = ojson::object();
  event["timeUnixNano"] = ns_text(timestamp_ns(e.timestamp).value_or(fallback_ns));
  event["name"] = e.type.is_string() ? text_of(e.type) : pystr(e.type);
  ojson attributes = ojson::array();
  add_flattened(attributes, "promptetheus.session_id", e.value.get("session_id"));
  add_flattened(attributes, "promptetheus.seq", e.seq);
  add_flattened(attributes, "promptetheus.idempotency_key", e.value.get("idempotency_key"));
  add_flattened(attributes, "promptetheus.event_type", e.type);
  add_members(attributes, "promptetheus.", e.payload);
  add_members(attributes, "promptetheus.metadata.", e.value.get("metadata"));
  event["attributes"] = std::move(attributes);
  return event;
}

ojson span_json(const std::string& trace_id, const std::string& trace_state,
                const std::array<std::uint8_t, 8>& span_id, const std::optional<std::array<std::uint8_t, 8>>& parent,
                std::string name, std::int64_t start_ns, std::int64_t end_ns, ojson attributes,
                const std::vector<const Event*>& events) {
  ojson span = ojson::object();
  span["traceId"] = trace_id;
  span["spanId"] = detail::lower_hex(span_id);
  if (!trace_state.empty()) span["traceState"] = trace_state;
  if (parent) span["parentSpanId"] = detail::lower_hex(*parent);
  span["name"] = std::move(name);
  span["kind"] = kSpanKindInternal;
  span["startTimeUnixNano"] = ns_text(start_ns);
  span["endTimeUnixNano"] = ns_text(std::max(start_ns, end_ns));
  span["attributes"] = std::move(attributes);
  ojson span_events = ojson::array();
  bool error = false;
  for (const Event* e : events) {
    span_events.push_back(span_event(*e, start_ns));
    error = error || in_error(*e);
  }
  span["events"] = std::move(span_events);
  span["status"]["code"] = error ? kStatusError : kStatusUnset;
  return span;
}

}  // namespace

ojson otlp_trace_document(const Session& session, const OtlpExportOptions& options) {
  // What the session says about itself: its id, its agent and the trace it was started in.
  std::optional<std::string> session_id;
  const Event* started = nullptr;
  std::optional<std::int64_t> first_ns, last_ns;
  for (const Event& e : session.events) {
    if (!e.is_object()) continue;
    if (!session_id) session_id = nonempty_string(e.value.get("session_id"));
    if (!started && e.type.string_equals("state_change") && e.payload_get("name").string_equals("session_started")) {
      started = &e;
    }
    if (const auto ns = timestamp_ns(e.timestamp)) {
      first_ns = first_ns ? std::min(*first_ns, *ns) : *ns;
      last_ns = last_ns ? std::max(*last_ns, *ns) : *ns;
    }
  }
  if (!first_ns) {
    const std::int64_t now = options.fallback_time_unix_nano.value_or(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    first_ns = last_ns = now;
  }

  // The ids SessionHandle::trace_context() gives: derived from the session id, the trace id
  // replaced by the incoming one that session_started recorded.
  detail::TraceIdentity identity = detail::trace_identity(session_id.value_or(""), TraceContext{});
  std::optional<std::array<std::uint8_t, 8>> root_parent;
  std::string trace_state;
  std::optional<std::string> agent;
  if (started != nullptr) {
    const JsonView metadata = started->value.get("metadata");
    std::array<std::uint8_t, 16> incoming_trace{};
    std::array<std::uint8_t, 8> incoming_parent{};
    const JsonView trace_id = metadata.get(detail::kTraceIdKey);
    std::string_view body;
    if (trace_id.plain_string(body) && parse_hex_id(body, incoming_trace)) {
      identity.trace_id = incoming_trace;
      const JsonView parent_id = metadata.get(detail::kParentSpanIdKey);
      if (parent_id.plain_string(body) && parse_hex_id(body, incoming_parent)) root_parent = incoming_parent;
      // The vendors' tracestate travels with the trace, as the SDK passes it on; kept only
      // when W3C's grammar accepts it (TraceContext drops an invalid one whole).
      const JsonView tracestate = metadata.get(detail::kTracestateKey);
      if (tracestate.is_string()) {
        const std::string traceparent =
            "00-" + detail::lower_hex(incoming_trace) + "-" + detail::lower_hex(identity.root_span_id) + "-01";
        trace_state = TraceContext::parse(traceparent, text_of(tracestate)).tracestate();
      }
    }
    agent = nonempty_string(started->payload_get("after").get("agent"));
  }
  const std::string trace_id = detail::lower_hex(identity.trace_id);

  // Nodes by span id, in order of creation (§9.1 tree rules).
  std::vector<Node> nodes;
  std::unordered_map<std::string, std::size_t> index;
  std::vector<const Event*> rootless;
  for (const Event& e : session.events) {
    if (!e.is_object()) continue;
    const auto span_id = nonempty_string(e.span_id);
    if (!span_id) {
      if (!e.is_span_marker()) rootless.push_back(&e);  // markers are never span events
      continue;
    }
    auto [it, inserted] = index.emplace(*span_id, nodes.size());
    if (inserted) {
      nodes.emplace_back();
      nodes.back().span_id = *span_id;
    }
    Node& node = nodes[it->second];
    if (e.is_span_start()) {
      node.start = &e;
      node.parent_id = nonempty_string(e.parent_id);
      node.name = nonempty_string(e.payload_get("span_name"));
    } else if (e.is_span_end()) {
      node.end = &e;
      if (!node.name) node.name = nonempty_string(e.payload_get("span_name"));
    } else {
      node.events.push_back(&e);
    }
  }
  // Depth = the number of known ancestors. A parent cycle is cut where a walk up from the first
  // span created in it closes (as the trace tree does, contract §7.3): a <-> b puts a under the
  // root and b under a. One pass over the nodes, so that deeply nested sessions stay linear.
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> parent_of(nodes.size(), kNone);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].parent_id) continue;
    const auto p = index.find(*nodes[i].parent_id);
    if (p != index.end()) parent_of[i] = p->second;
  }
  enum : std::uint8_t { unvisited, on_walk, placed };
  std::vector<std::uint8_t> state(nodes.size(), unvisited);
  std::vector<std::size_t> walk;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    walk.clear();
    std::size_t at = i;
    while (at != kNone && state[at] == unvisited) {
      state[at] = on_walk;
      walk.push_back(at);
      const std::size_t up = parent_of[at];
      if (up != kNone && state[up] == on_walk) {
        // The cycle closes at `up`: it loses its parent and tops the rest of the cycle.
        parent_of[up] = kNone;
        nodes[up].depth = 0;
        state[up] = placed;
        break;
      }
      at = up;
    }
    // The walk goes up, so it is placed in reverse: each one after its parent.
    for (auto it = walk.rbegin(); it != walk.rend(); ++it) {
      if (state[*it] == placed) continue;
      nodes[*it].depth = parent_of[*it] == kNone ? 0 : nodes[parent_of[*it]].depth + 1;
      state[*it] = placed;
    }
  }
  for (Node& node : nodes) node.otel_id = otel_span_id_of(node.span_id);
  // Emitted by depth, in order of creation within a depth, so parents come before children.
  std::vector<std::size_t> order(nodes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return nodes[a].depth < nodes[b].depth; });

  ojson spans = ojson::array();
  {
    ojson attributes = ojson::array();
    if (session_id) add_attribute(attributes, "promptetheus.session_id", string_value(*session_id));
    spans.push_back(span_json(trace_id, trace_state, identity.root_span_id, root_parent,
                              session_id ? "promptetheus.session " + *session_id : "promptetheus.session", *first_ns,
                              *last_ns, std::move(attributes), rootless));
  }
  std::vector<bool> emitted(nodes.size(), false);
  for (const std::size_t i : order) {
    const Node& node = nodes[i];
    // The parent is the already-emitted parent span, else the root (unknown parents, cycles).
    std::array<std::uint8_t, 8> parent = identity.root_span_id;
    if (parent_of[i] != kNone && emitted[parent_of[i]]) parent = nodes[parent_of[i]].otel_id;
    // Start at the start marker; without a readable one, at the span's first event, else at
    // the session's start. End = start + duration_ms, else the end marker, else the last event.
    std::optional<std::int64_t> first_event, last_event;
    for (const Event* e : node.events) {
      if (const auto ns = event_time(e)) {
        first_event = first_event ? std::min(*first_event, *ns) : *ns;
        last_event = last_event ? std::max(*last_event, *ns) : *ns;
      }
    }
    std::optional<std::int64_t> start = event_time(node.start);
    if (!start) start = first_event;
    std::optional<std::int64_t> latest = event_time(node.end);
    if (!latest) latest = last_event;
    const std::int64_t start_ns = start.value_or(*first_ns);
    // duration_ms is the first non-null value, on the start marker then on the end marker.
    const bool start_timed = node.start && node.start->payload_get("duration_ms").present() &&
                             !node.start->payload_get("duration_ms").is_null();
    const std::optional<std::int64_t> duration = duration_ns(start_timed ? node.start : node.end);
    std::int64_t end_ns = latest.value_or(start_ns);
    if (duration && start_ns <= std::numeric_limits<std::int64_t>::max() - *duration) end_ns = start_ns + *duration;

    ojson attributes = ojson::array();
    add_attribute(attributes, "promptetheus.span_id", string_value(node.span_id));
    if (node.parent_id) add_attribute(attributes, "promptetheus.parent_id", string_value(*node.parent_id));
    if (session_id) add_attribute(attributes, "promptetheus.session_id", string_value(*session_id));
    if (node.start) add_members(attributes, "promptetheus.span.", node.start->payload);
    spans.push_back(span_json(trace_id, trace_state, node.otel_id, parent, node.name.value_or("span"), start_ns, end_ns,
                              std::move(attributes), node.events));
    emitted[i] = true;
  }

  ojson resource_attributes = ojson::array();
  const auto service = options.resource_attributes.find("service.name");
  add_attribute(resource_attributes, "service.name",
                string_value(service != options.resource_attributes.end() ? clean_utf8(service->second)
                                                                          : agent.value_or(kDefaultServiceName)));
  for (const auto& [key, value] : options.resource_attributes) {
    if (key != "service.name") add_attribute(resource_attributes, clean_utf8(key), string_value(clean_utf8(value)));
  }

  ojson scope_spans = ojson::object();
  scope_spans["scope"]["name"] = "promptetheus";
  scope_spans["scope"]["version"] = promptetheus::version();
  scope_spans["spans"] = std::move(spans);
  ojson resource_spans = ojson::object();
  resource_spans["resource"]["attributes"] = std::move(resource_attributes);
  resource_spans["scopeSpans"] = ojson::array({std::move(scope_spans)});
  ojson document = ojson::object();
  document["resourceSpans"] = ojson::array({std::move(resource_spans)});
  return document;
}

}  // namespace promptetheus::analysis
