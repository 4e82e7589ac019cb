#include "dev/otlp_ingest.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "core/hex.hpp"
#include "core/ids.hpp"
#include "core/json_writer.hpp"

namespace promptetheus::devserver {

namespace {

using detail::JsonView;
using Ref = JsonView::Ref;
using Kind = JsonView::Kind;

// The instrumentation scope of the spans the Promptetheus SDK and CLI export (contract §9.1).
constexpr std::string_view kPromptetheusScope = "promptetheus";

// Attribute values nested deeper than this (arrays in arrays, lists in lists) are kept as null:
// the request parser allows deeper documents, and the conversion recurses.
constexpr int kMaxAttributeDepth = 64;

// A member that is present and not null (JSON writers may write an unset field as null).
Ref member(Ref object, std::string_view key) {
  if (!object.is(Kind::object)) return {};
  const Ref value = object[key];
  return value && !value.is(Kind::null) ? value : Ref();
}

std::string_view string_member(Ref object, std::string_view key) {
  const Ref value = member(object, key);
  return value.is(Kind::string) ? value.string() : std::string_view();
}

// The list under `key`: absent or null is empty (an empty Ref); anything else but a list is
// malformed.
Ref list_member(Ref object, std::string_view key, bool& malformed) {
  const Ref value = member(object, key);
  if (value && !value.is(Kind::array)) malformed = true;
  return value.is(Kind::array) ? value : Ref();
}

// A 64-bit integer as the protobuf JSON mapping writes it: a decimal string, or a number.
std::optional<std::int64_t> int64_value(Ref value) {
  if (value.is(Kind::unsigned_integer)) {
    const std::uint64_t n = value.unsigned_integer();
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(n);
  }
  if (value.is(Kind::integer)) return value.integer();
  if (value.is(Kind::string)) {
    const std::string_view text = value.string();
    std::int64_t n = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, n);
    if (ec == std::errc() && ptr == end && !text.empty()) return n;
  }
  return std::nullopt;
}

// A hex id of N bytes as lowercase text; OTLP JSON writers use lowercase, uppercase is accepted.
template <std::size_t N>
std::optional<std::string> hex_id(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  std::array<std::uint8_t, N> bytes{};
  if (!detail::parse_lower_hex(lower, bytes) || detail::all_zero(bytes)) return std::nullopt;
  return lower;
}

// What an AnyValue becomes: the first of its members that is set decides, in this order.
struct Converted {
  enum class As { null, string, boolean, integer, number, array, kvlist };
  As as = As::null;
  Ref ref;  // the string, boolean or number; the values list of an array or kvlist (may be empty)
  std::int64_t integer = 0;
};

Converted convert(Ref value) {
  using As = Converted::As;
  if (!value.is(Kind::object)) return {};
  if (Ref v = member(value, "stringValue")) return v.is(Kind::string) ? Converted{As::string, v} : Converted{};
  if (Ref v = member(value, "boolValue")) return v.is(Kind::boolean) ? Converted{As::boolean, v} : Converted{};
  if (Ref v = member(value, "intValue")) {
    const auto n = int64_value(v);
    return n ? Converted{As::integer, v, *n} : Converted{};
  }
  if (Ref v = member(value, "doubleValue")) {
    if (v.is_number()) return Converted{As::number, v};
    return v.is(Kind::string) ? Converted{As::string, v} : Converted{};  // "NaN", "Infinity" in the JSON mapping
  }
  if (Ref v = member(value, "bytesValue")) return v.is(Kind::string) ? Converted{As::string, v} : Converted{};
  if (Ref v = member(value, "arrayValue")) return Converted{As::array, member(v, "values")};
  if (Ref v = member(value, "kvlistValue")) return Converted{As::kvlist, member(v, "values")};
  return {};
}

// A KeyValue list ([{key, value}]) read as one JSON object: sorted by key, a later key wins.
class KeyValues {
 public:
  explicit KeyValues(Ref list) {
    if (!list.is(Kind::array)) return;
    for (Ref entry : list.elements()) {
      if (!entry.is(Kind::object)) continue;
      const Ref key = member(entry, "key");
      if (!key.is(Kind::string)) continue;
      entries_.emplace_back(key.string(), member(entry, "value"));
    }
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    // Of equal keys, keep the last (stable_sort kept their order).
    std::vector<std::pair<std::string_view, Ref>> unique;
    unique.reserve(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (i + 1 < entries_.size() && entries_[i + 1].first == entries_[i].first) continue;
      unique.push_back(entries_[i]);
    }
    entries_.swap(unique);
  }

  /// The AnyValue under `key` (an empty Ref when absent or null).
  Ref find(std::string_view key) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const auto& entry, std::string_view k) { return entry.first < k; });
    return it != entries_.end() && it->first == key ? it->second : Ref();
  }

  /// The converted string under `key`, if that is what it converts to.
  std::optional<std::string_view> string(std::string_view key) const {
    const Converted value = convert(find(key));
    if (value.as != Converted::As::string) return std::nullopt;
    return value.ref.string();
  }

  /// Writes the object; its values are AnyValues at `depth` + 1.
  void write(std::string& out, int depth) const;

 private:
  std::vector<std::pair<std::string_view, Ref>> entries_;
};

void write_any(std::string& out, Ref value, int depth) {
  if (depth > kMaxAttributeDepth) {
    out += "null";
    return;
  }
  const Converted converted = convert(value);
  switch (converted.as) {
    case Converted::As::null: out += "null"; return;
    case Converted::As::string: detail::write_json_string(out, converted.ref.string()); return;
    case Converted::As::boolean: out += converted.ref.boolean() ? "true" : "false"; return;
    case Converted::As::integer: out += std::to_string(converted.integer); return;
    case Converted::As::number: detail::write_json(out, converted.ref); return;
    case Converted::As::array: {
      out += '[';
      if (converted.ref.is(Kind::array)) {
        bool first = true;
        for (Ref item : converted.ref.elements()) {
          if (!first) out += ',';
          first = false;
          write_any(out, item, depth + 1);
        }
      }
      out += ']';
      return;
    }
    case Converted::As::kvlist: KeyValues(converted.ref).write(out, depth + 1); return;
  }
}

void KeyValues::write(std::string& out, int depth) const {
  out += '{';
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i > 0) out += ',';
    detail::write_json_string(out, entries_[i].first);
    out += ':';
    write_any(out, entries_[i].second, depth + 1);
  }
  out += '}';
}

// SpanKind and StatusCode: integers, or their enum names in some JSON writers.
int enum_value(Ref value, std::initializer_list<std::string_view> names) {
  if (value.is(Kind::integer)) return static_cast<int>(value.integer());
  if (value.is(Kind::unsigned_integer)) return static_cast<int>(value.unsigned_integer());
  if (value.is(Kind::string)) {
    int i = 0;
    for (std::string_view name : names) {
      if (value.string() == name) return i;
      ++i;
    }
  }
  return 0;
}

const char* kind_name(int kind) {
  switch (kind) {
    case 1: return "internal";
    case 2: return "server";
    case 3: return "client";
    case 4: return "producer";
    case 5: return "consumer";
    default: return "unspecified";
  }
}

const char* status_name(int code) {
  switch (code) {
    case 1: return "ok";
    case 2: return "error";
    default: return "unset";
  }
}

// Python's round() of a millisecond count (half to even), as span_end's duration_ms is rounded.
std::int64_t rounded_milliseconds(std::int64_t nanoseconds) {
  const std::int64_t whole = nanoseconds / 1000000;
  const std::int64_t rest = nanoseconds % 1000000;
  if (rest > 500000 || (rest == 500000 && whole % 2 == 1)) return whole + 1;
  return whole;
}

// `"key":` with the key written as a JSON string.
void write_key(std::string& out, std::string_view key) {
  detail::write_json_string(out, key);
  out += ':';
}

struct SpanMapper {
  OtlpMapping& mapping;
  std::unordered_map<std::string, std::size_t> trace_index;  // trace id → mapping.traces

  OtlpTrace& trace_for(const std::string& trace_id, const std::string& service) {
    auto [it, inserted] = trace_index.emplace(trace_id, mapping.traces.size());
    if (inserted) mapping.traces.push_back(OtlpTrace{trace_id, service, 0, false, {}});
    return mapping.traces[it->second];
  }

  // The position is only written out for the first rejected span.
  void reject(std::size_t r, std::size_t s, std::size_t i, const char* reason) {
    ++mapping.rejected_spans;
    if (!mapping.error_message.empty()) return;
    mapping.error_message = "resourceSpans[" + std::to_string(r) + "].scopeSpans[" + std::to_string(s) +
                            "].spans[" + std::to_string(i) + "]: " + reason;
  }

  void map_span(Ref span, std::size_t r, std::size_t s, std::size_t i, const std::string& service,
                std::string_view scope, const std::string& resource_attributes) {
    if (!span.is(Kind::object)) return reject(r, s, i, "a span must be an object");
    const auto trace_id = hex_id<16>(string_member(span, "traceId"));
    if (!trace_id) return reject(r, s, i, "traceId must be 32 hex digits, not all zero");
    const auto span_hex = hex_id<8>(string_member(span, "spanId"));
    if (!span_hex) return reject(r, s, i, "spanId must be 16 hex digits, not all zero");
    const std::string_view parent_text = string_member(span, "parentSpanId");
    std::string parent_hex;
    if (!parent_text.empty()) {
      auto parent = hex_id<8>(parent_text);
      if (!parent) return reject(r, s, i, "parentSpanId must be empty or 16 hex digits");
      parent_hex = std::move(*parent);
    }
    const Ref start_value = member(span, "startTimeUnixNano");
    const auto start = start_value ? int64_value(start_value) : std::nullopt;
    if (!start || *start <= 0) return reject(r, s, i, "startTimeUnixNano must be a positive 64-bit integer");
    const Ref end_value = member(span, "endTimeUnixNano");
    const std::optional<std::int64_t> end = end_value ? int64_value(end_value) : std::nullopt;
    const std::int64_t end_ns = end && *end > *start ? *end : *start;

    const std::string_view name = string_member(span, "name");
    const std::string span_id = "span_" + *span_hex;
    OtlpTrace& trace = trace_for(*trace_id, service);
    if (trace.earliest_start_unix_nano == 0 || *start < trace.earliest_start_unix_nano) {
      trace.earliest_start_unix_nano = *start;
    }
    ++mapping.accepted_spans;

    const KeyValues attributes(member(span, "attributes"));
    std::string recorded_session;
    if (scope == kPromptetheusScope) {
      if (auto session = attributes.string("promptetheus.session_id")) recorded_session = *session;
    }

    // The metadata members every event of the span ends with, and those of the ids alone.
    const std::string ids_tail = ",\"otel.trace_id\":\"" + *trace_id + "\"}";
    const std::string span_id_member = "\"otel.span_id\":\"" + *span_hex + "\"";
    std::size_t n = 0;
    const auto add = [&](std::int64_t time, const char* type, std::string payload, std::string metadata) {
      OtlpEvent event;
      event.time_unix_nano = time;
      event.parent_span_hex = parent_hex;
      event.type = type;
      detail::append_timestamp(event.timestamp, time / 1000);
      event.starts_span = n == 0;  // the first event added for a span is its span_start
      event.idempotency_key = otlp_idempotency_key(*trace_id, *span_hex, n++);
      event.span_id = span_id;
      event.payload = std::move(payload);
      event.metadata = std::move(metadata);
      event.recorded_session = recorded_session;
      trace.events.push_back(std::move(event));
    };

    // span_start; metadata keys in canonical (sorted) order.
    std::string metadata = "{\"otel.attributes\":";
    attributes.write(metadata, 0);
    metadata += ",\"otel.kind\":\"";
    metadata += kind_name(enum_value(member(span, "kind"),
                                     {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                      "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}));
    metadata += '"';
    if (!parent_hex.empty()) metadata += ",\"otel.parent_span_id\":\"" + parent_hex + '"';
    metadata += ",\"otel.resource\":" + resource_attributes + ",";
    write_key(metadata, "otel.scope");
    detail::write_json_string(metadata, scope);
    metadata += ',';
    write_key(metadata, "otel.service");
    detail::write_json_string(metadata, service);
    metadata += ',' + span_id_member + ids_tail;
    std::string payload = "{\"name\":\"span_start\",\"span_name\":";
    detail::write_json_string(payload, name);
    payload += '}';
    add(*start, "state_change", std::move(payload), std::move(metadata));

    bool exception_recorded = false;
    const Ref events = member(span, "events");
    if (events.is(Kind::array)) {
      for (Ref span_event : events.elements()) {
        if (!span_event.is(Kind::object)) continue;
        const Ref time_value = member(span_event, "timeUnixNano");
        std::int64_t time = time_value ? int64_value(time_value).value_or(*start) : *start;
        time = std::min(std::max(time, *start), end_ns);
        const std::string_view event_name = string_member(span_event, "name");
        const KeyValues event_attributes(member(span_event, "attributes"));
        metadata = "{\"otel.event\":";
        detail::write_json_string(metadata, event_name);
        metadata += ',' + span_id_member + ids_tail;
        payload.clear();
        if (event_name == "exception") {
          exception_recorded = true;
          const auto text_or_null = [&](std::string_view key) {
            std::string out;
            if (auto text = event_attributes.string(key)) detail::write_json_string(out, *text);
            else out = "null";
            return out;
          };
          const auto message = event_attributes.string("exception.message");
          payload = "{\"error_type\":" + text_or_null("exception.type") + ",\"handled\":false,\"message\":";
          detail::write_json_string(payload, message ? *message : std::string_view("exception"));
          payload += ",\"traceback\":" + text_or_null("exception.stacktrace") + "}";
          add(time, "error", std::move(payload), std::move(metadata));
        } else {
          payload = "{\"after\":";
          event_attributes.write(payload, 0);
          payload += ",\"before\":null,\"name\":";
          detail::write_json_string(payload, event_name);
          payload += '}';
          add(time, "state_change", std::move(payload), std::move(metadata));
        }
      }
    }

    const Ref status = member(span, "status");
    const int code =
        enum_value(member(status, "code"), {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"});
    const std::string_view status_message = string_member(status, "message");
    if (code == 2 && !exception_recorded) {
      payload = "{\"error_type\":\"otel.status\",\"handled\":false,\"message\":";
      if (status_message.empty()) {
        detail::write_json_string(payload, "span " + std::string(name) + " failed");
      } else {
        detail::write_json_string(payload, status_message);
      }
      payload += '}';
      add(end_ns, "error", std::move(payload), "{" + span_id_member + ids_tail);
    }
    if (code == 2 || exception_recorded) trace.failed = true;
    metadata = "{" + span_id_member + ",\"otel.status\":{\"code\":\"";
    metadata += status_name(code);
    metadata += "\",\"message\":";
    detail::write_json_string(metadata, status_message);
    metadata += '}' + ids_tail;
    payload = "{\"duration_ms\":" + std::to_string(rounded_milliseconds(end_ns - *start)) +
              ",\"name\":\"span_end\",\"span_name\":";
    detail::write_json_string(payload, name);
    payload += '}';
    add(end_ns, "state_change", std::move(payload), std::move(metadata));
  }
};

}  // namespace

std::string otlp_idempotency_key(std::string_view trace_id, std::string_view span_hex, std::size_t n) {
  std::string key = "otlp:";
  key.append(trace_id).append(":").append(span_hex).append(":").append(std::to_string(n));
  return key;
}

std::optional<OtlpMapping> map_otlp_request(Ref request, std::string& error) {
  if (!request.is(Kind::object)) {
    error = "an ExportTraceServiceRequest must be a JSON object";
    return std::nullopt;
  }
  OtlpMapping mapping;
  SpanMapper mapper{mapping, {}};
  bool malformed = false;
  const Ref resource_spans = list_member(request, "resourceSpans", malformed);
  const std::vector<Ref> resource_list = resource_spans ? resource_spans.elements() : std::vector<Ref>();
  for (std::size_t r = 0; r < resource_list.size() && !malformed; ++r) {
    const Ref resource_span = resource_list[r];
    if (!resource_span.is(Kind::object)) {
      malformed = true;
      break;
    }
    const KeyValues resource_attributes(member(member(resource_span, "resource"), "attributes"));
    std::string resource_text;
    resource_attributes.write(resource_text, 0);
    const auto service_name = resource_attributes.string("service.name");
    const std::string service = service_name ? std::string(*service_name) : std::string("unknown_service");
    const Ref scope_spans = list_member(resource_span, "scopeSpans", malformed);
    const std::vector<Ref> scope_list = scope_spans ? scope_spans.elements() : std::vector<Ref>();
    for (std::size_t s = 0; s < scope_list.size() && !malformed; ++s) {
      const Ref scope_span = scope_list[s];
      const std::string_view scope_name = string_member(member(scope_span, "scope"), "name");
      const Ref spans = list_member(scope_span, "spans", malformed);
      if (!spans) continue;
      const std::vector<Ref> span_list = spans.elements();
      for (std::size_t i = 0; i < span_list.size(); ++i) {
        mapper.map_span(span_list[i], r, s, i, service, scope_name, resource_text);
      }
    }
  }
  if (malformed) {
    error = "resourceSpans, scopeSpans and spans must be lists of objects";
    return std::nullopt;
  }
  return mapping;
}

void otlp_event_text(const OtlpEvent& event, const std::string& session_id, const std::string* parent_id,
                     const std::string& workspace_id, const std::string& project_id, std::string& head,
                     std::string& tail) {
  // The envelope's keys in canonical (sorted) order, seq between project_id and session_id.
  head.clear();
  head += "{\"idempotency_key\":";
  detail::write_json_string(head, event.idempotency_key);
  head += ",\"metadata\":";
  head += event.metadata;
  head += ",\"parent_id\":";
  if (parent_id) detail::write_json_string(head, *parent_id);
  else head += "null";
  head += ",\"payload\":";
  head += event.payload;
  head += ",\"project_id\":";
  detail::write_json_string(head, project_id);
  head += ",\"seq\":";
  tail.clear();
  tail += ",\"session_id\":";
  detail::write_json_string(tail, session_id);
  tail += ",\"span_id\":";
  detail::write_json_string(tail, event.span_id);
  tail += ",\"timestamp\":";
  detail::write_json_string(tail, event.timestamp);
  tail += ",\"type\":\"";
  tail += event.type;
  tail += "\",\"workspace_id\":";
  detail::write_json_string(tail, workspace_id);
  tail += '}';
}

}  // namespace promptetheus::devserver
