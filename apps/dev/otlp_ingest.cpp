#include "dev/otlp_ingest.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "core/hex.hpp"
#include "core/ids.hpp"

namespace promptetheus::devserver {

using nlohmann::json;

namespace {

// The instrumentation scope of the spans the Promptetheus SDK and CLI export (contract §9.1).
constexpr const char* kPromptetheusScope = "promptetheus";

// Attribute values nested deeper than this (arrays in arrays, lists in lists) are kept as null:
// the request parser allows deeper documents, and the conversion recurses.
constexpr int kMaxAttributeDepth = 64;

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string string_member(const json& object, const char* key) {
  const json* value = member(object, key);
  return value && value->is_string() ? value->get<std::string>() : std::string();
}

// The list under `key`: absent or null is empty; anything else but a list is malformed.
const json* list_member(const json& object, const char* key, bool& malformed) {
  static const json kEmpty = json::array();
  const json* value = member(object, key);
  if (!value) return &kEmpty;
  if (!value->is_array()) {
    malformed = true;
    return &kEmpty;
  }
  return value;
}

// A 64-bit integer as the protobuf JSON mapping writes it: a decimal string, or a number.
std::optional<std::int64_t> int64_value(const json& value) {
  if (value.is_number_unsigned()) {
    const auto n = value.get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(n);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    std::int64_t n = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, n);
    if (ec == std::errc() && ptr == end && !text.empty()) return n;
  }
  return std::nullopt;
}

// A hex id of N bytes as lowercase text; OTLP JSON writers use lowercase, uppercase is accepted.
template <std::size_t N>
std::optional<std::string> hex_id(const std::string& text) {
  std::string lower = text;
  for (char& c : lower) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  std::array<std::uint8_t, N> bytes{};
  if (!detail::parse_lower_hex(lower, bytes) || detail::all_zero(bytes)) return std::nullopt;
  return lower;
}

json any_value(const json& value, int depth);

// KeyValue lists ([{key, value}]) as one JSON object; a later key wins.
json key_values(const json& list, int depth) {
  json object = json::object();
  if (!list.is_array()) return object;
  for (const json& entry : list) {
    if (!entry.is_object()) continue;
    const json* key = member(entry, "key");
    if (!key || !key->is_string()) continue;
    const json* value = member(entry, "value");
    object[key->get<std::string>()] = value ? any_value(*value, depth + 1) : json(nullptr);
  }
  return object;
}

json any_value(const json& value, int depth) {
  if (depth > kMaxAttributeDepth || !value.is_object()) return nullptr;
  if (const json* v = member(value, "stringValue")) return v->is_string() ? *v : json(nullptr);
  if (const json* v = member(value, "boolValue")) return v->is_boolean() ? *v : json(nullptr);
  if (const json* v = member(value, "intValue")) {
    auto n = int64_value(*v);
    return n ? json(*n) : json(nullptr);
  }
  if (const json* v = member(value, "doubleValue")) {
    if (v->is_number()) return *v;
    return v->is_string() ? *v : json(nullptr);  // "NaN", "Infinity" in the JSON mapping
  }
  if (const json* v = member(value, "bytesValue")) return v->is_string() ? *v : json(nullptr);
  if (const json* v = member(value, "arrayValue")) {
    json out = json::array();
    const json* values = member(*v, "values");
    if (values && values->is_array()) {
      for (const json& item : *values) out.push_back(any_value(item, depth + 1));
    }
    return out;
  }
  if (const json* v = member(value, "kvlistValue")) {
    const json* values = member(*v, "values");
    return values ? key_values(*values, depth + 1) : json::object();
  }
  return nullptr;
}

// SpanKind and StatusCode: integers, or their enum names in some JSON writers.
int enum_value(const json* value, std::initializer_list<const char*> names) {
  if (!value) return 0;
  if (value->is_number_integer()) return value->get<int>();
  if (value->is_string()) {
    int i = 0;
    for (const char* name : names) {
      if (value->get_ref<const std::string&>() == name) return i;
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

std::string timestamp_of(std::int64_t unix_nano) {
  std::string out;
  detail::append_timestamp(out, unix_nano / 1000);
  return out;
}

// Python's round() of a millisecond count (half to even), as span_end's duration_ms is rounded.
std::int64_t rounded_milliseconds(std::int64_t nanoseconds) {
  const std::int64_t whole = nanoseconds / 1000000;
  const std::int64_t rest = nanoseconds % 1000000;
  if (rest > 500000 || (rest == 500000 && whole % 2 == 1)) return whole + 1;
  return whole;
}

struct SpanMapper {
  OtlpMapping& mapping;
  std::unordered_map<std::string, std::size_t> trace_index;  // trace id → mapping.traces

  OtlpTrace& trace_for(const std::string& trace_id, const std::string& service) {
    auto [it, inserted] = trace_index.emplace(trace_id, mapping.traces.size());
    if (inserted) mapping.traces.push_back(OtlpTrace{trace_id, service, 0, false, {}});
    return mapping.traces[it->second];
  }

  void reject(const std::string& where, const std::string& reason) {
    ++mapping.rejected_spans;
    if (mapping.error_message.empty()) mapping.error_message = where + ": " + reason;
  }

  void map_span(const json& span, const std::string& where, const std::string& service,
                const std::string& scope, const json& resource_attributes) {
    if (!span.is_object()) return reject(where, "a span must be an object");
    const auto trace_id = hex_id<16>(string_member(span, "traceId"));
    if (!trace_id) return reject(where, "traceId must be 32 hex digits, not all zero");
    const auto span_hex = hex_id<8>(string_member(span, "spanId"));
    if (!span_hex) return reject(where, "spanId must be 16 hex digits, not all zero");
    const std::string parent_text = string_member(span, "parentSpanId");
    std::string parent_hex;
    if (!parent_text.empty()) {
      auto parent = hex_id<8>(parent_text);
      if (!parent) return reject(where, "parentSpanId must be empty or 16 hex digits");
      parent_hex = *parent;
    }
    const json* start_value = member(span, "startTimeUnixNano");
    const auto start = start_value ? int64_value(*start_value) : std::nullopt;
    if (!start || *start <= 0) return reject(where, "startTimeUnixNano must be a positive 64-bit integer");
    const json* end_value = member(span, "endTimeUnixNano");
    std::optional<std::int64_t> end = end_value ? int64_value(*end_value) : std::nullopt;
    const std::int64_t end_ns = end && *end > *start ? *end : *start;

    const std::string name = string_member(span, "name");
    const std::string span_id = "span_" + *span_hex;
    const std::string key_prefix = "otlp:" + *trace_id + ":" + *span_hex + ":";
    OtlpTrace& trace = trace_for(*trace_id, service);
    if (trace.earliest_start_unix_nano == 0 || *start < trace.earliest_start_unix_nano) {
      trace.earliest_start_unix_nano = *start;
    }
    ++mapping.accepted_spans;

    const json* attributes = member(span, "attributes");
    json attribute_map = attributes ? key_values(*attributes, 0) : json::object();
    std::string recorded_session;
    if (scope == kPromptetheusScope) {
      auto session = attribute_map.find("promptetheus.session_id");
      if (session != attribute_map.end() && session->is_string()) recorded_session = session->get<std::string>();
    }

    const json ids{{"otel.trace_id", *trace_id}, {"otel.span_id", *span_hex}};
    std::size_t n = 0;
    const auto add = [&](std::int64_t time, const char* type, json payload, json metadata) {
      json event{{"type", type},
                 {"timestamp", timestamp_of(time)},
                 {"idempotency_key", key_prefix + std::to_string(n++)},
                 {"payload", std::move(payload)},
                 {"span_id", span_id},
                 {"metadata", std::move(metadata)}};
      trace.events.push_back(OtlpEvent{time, parent_hex, std::move(event), recorded_session});
    };

    json start_metadata = ids;
    if (!parent_hex.empty()) start_metadata["otel.parent_span_id"] = parent_hex;
    start_metadata["otel.kind"] = kind_name(enum_value(
        member(span, "kind"), {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                               "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}));
    start_metadata["otel.service"] = service;
    start_metadata["otel.scope"] = scope;
    start_metadata["otel.attributes"] = std::move(attribute_map);
    start_metadata["otel.resource"] = resource_attributes;
    add(*start, "state_change", json{{"name", "span_start"}, {"span_name", name}}, std::move(start_metadata));

    bool exception_recorded = false;
    const json* events = member(span, "events");
    if (events && events->is_array()) {
      for (const json& span_event : *events) {
        if (!span_event.is_object()) continue;
        const json* time_value = member(span_event, "timeUnixNano");
        std::int64_t time = time_value ? int64_value(*time_value).value_or(*start) : *start;
        time = std::min(std::max(time, *start), end_ns);
        const std::string event_name = string_member(span_event, "name");
        const json* event_attributes_value = member(span_event, "attributes");
        json event_attributes =
            event_attributes_value ? key_values(*event_attributes_value, 0) : json::object();
        json metadata = ids;
        metadata["otel.event"] = event_name;
        if (event_name == "exception") {
          exception_recorded = true;
          const auto text = [&](const char* key) {
            auto it = event_attributes.find(key);
            return it != event_attributes.end() && it->is_string() ? *it : json(nullptr);
          };
          json message = text("exception.message");
          if (message.is_null()) message = "exception";
          add(time, "error",
              json{{"message", std::move(message)},
                   {"error_type", text("exception.type")},
                   {"traceback", text("exception.stacktrace")},
                   {"handled", false}},
              std::move(metadata));
        } else {
          add(time, "state_change",
              json{{"name", event_name}, {"before", nullptr}, {"after", std::move(event_attributes)}},
              std::move(metadata));
        }
      }
    }

    const json* status = member(span, "status");
    const int code = status ? enum_value(member(*status, "code"),
                                         {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"})
                            : 0;
    const std::string status_message = status ? string_member(*status, "message") : std::string();
    if (code == 2 && !exception_recorded) {
      add(end_ns, "error",
          json{{"message", status_message.empty() ? "span " + name + " failed" : status_message},
               {"error_type", "otel.status"},
               {"handled", false}},
          ids);
    }
    if (code == 2 || exception_recorded) trace.failed = true;
    json end_metadata = ids;
    end_metadata["otel.status"] = json{{"code", status_name(code)}, {"message", status_message}};
    add(end_ns, "state_change",
        json{{"name", "span_end"}, {"span_name", name}, {"duration_ms", rounded_milliseconds(end_ns - *start)}},
        std::move(end_metadata));
  }
};

}  // namespace

std::optional<OtlpMapping> map_otlp_request(const json& request, std::string& error) {
  if (!request.is_object()) {
    error = "an ExportTraceServiceRequest must be a JSON object";
    return std::nullopt;
  }
  OtlpMapping mapping;
  SpanMapper mapper{mapping, {}};
  bool malformed = false;
  const json& resource_spans = *list_member(request, "resourceSpans", malformed);
  for (std::size_t r = 0; r < resource_spans.size() && !malformed; ++r) {
    const json& resource_span = resource_spans[r];
    if (!resource_span.is_object()) {
      malformed = true;
      break;
    }
    const json* resource = member(resource_span, "resource");
    const json* resource_attribute_list = resource ? member(*resource, "attributes") : nullptr;
    json resource_attributes =
        resource_attribute_list ? key_values(*resource_attribute_list, 0) : json::object();
    auto service_it = resource_attributes.find("service.name");
    const std::string service = service_it != resource_attributes.end() && service_it->is_string()
                                    ? service_it->get<std::string>()
                                    : std::string("unknown_service");
    const json& scope_spans = *list_member(resource_span, "scopeSpans", malformed);
    for (std::size_t s = 0; s < scope_spans.size() && !malformed; ++s) {
      const json& scope_span = scope_spans[s];
      const json* scope = member(scope_span, "scope");
      const std::string scope_name = scope ? string_member(*scope, "name") : std::string();
      const json& spans = *list_member(scope_span, "spans", malformed);
      for (std::size_t i = 0; i < spans.size(); ++i) {
        mapper.map_span(spans[i],
                        "resourceSpans[" + std::to_string(r) + "].scopeSpans[" + std::to_string(s) +
                            "].spans[" + std::to_string(i) + "]",
                        service, scope_name, resource_attributes);
      }
    }
  }
  if (malformed) {
    error = "resourceSpans, scopeSpans and spans must be lists of objects";
    return std::nullopt;
  }
  return mapping;
}

std::string otel_span_hex_of(const std::string& span_id) {
  return span_id.rfind("span_", 0) == 0 ? span_id.substr(5, 16) : std::string();
}

}  // namespace promptetheus::devserver
