// A recorded session as an OTLP/HTTP JSON document (analysis/otlp_export.hpp, contract §9.1):
// the span tree, names, times in nanoseconds, attribute kinds, span events, error statuses and
// the trace and span ids.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "analysis/otlp_export.hpp"
#include "core/sha256.hpp"
#include "promptetheus/client.hpp"

using namespace promptetheus::analysis;
using ojson = nlohmann::ordered_json;

namespace {

const std::string kOuter = "span_0123456789abcdef0123456789abcdef";
const std::string kInner = "span_fedcba9876543210fedcba9876543210";
// 2024-01-01T00:00:00Z in Unix seconds.
constexpr std::int64_t kEpoch2024 = 1704067200;

// "2024-01-01T00:00:SS.uuuuuuZ" for `us` microseconds after midnight (under a minute).
std::string ts(std::int64_t us) {
  char text[64];
  std::snprintf(text, sizeof text, "2024-01-01T00:00:%02lld.%06lldZ", static_cast<long long>(us / 1000000),
                static_cast<long long>(us % 1000000));
  return text;
}
std::string ns(std::int64_t us) { return std::to_string((kEpoch2024 * 1000000 + us) * 1000); }

std::string ev(int seq, std::int64_t us, const std::string& type, const std::string& payload,
               const std::string& span = "", const std::string& parent = "", const std::string& extra = "") {
  std::string s = R"({"idempotency_key":"s1:n:)" + std::to_string(seq) + R"(","payload":)" + payload +
                  R"(,"seq":)" + std::to_string(seq) + R"(,"session_id":"s1","timestamp":")" + ts(us) +
                  R"(","type":")" + type + "\"";
  if (!span.empty()) s += R"(,"span_id":")" + span + R"(","parent_id":)" + (parent.empty() ? "null" : "\"" + parent + "\"");
  return s + extra + "}\n";
}

// The session of §9.1's observed example, with an inner span: outer > inner, a rootless user
// message and failed goal check, a failing tool call inside inner.
const std::string kSession =
    ev(0, 0, "state_change", R"({"after":{"agent":"calendar-agent"},"before":null,"name":"session_started"})") +
    ev(1, 100, "user_message", R"({"content":"find rooms"})") +
    ev(2, 200, "state_change", R"({"name":"span_start","span_name":"outer"})", kOuter) +
    ev(3, 300, "state_change", R"({"name":"span_start","span_name":"inner","duration_ms":250})", kInner, kOuter) +
    ev(4, 400, "tool_call", R"({"arguments":{"q":"rooms"},"call_id":"c1","tool_name":"search"})", kInner, kOuter) +
    ev(5, 500, "tool_result", R"({"call_id":"c1","error":"boom","result":null})", kInner, kOuter) +
    ev(6, 5000300, "state_change", R"({"name":"span_end","span_name":"inner","duration_ms":null})", kInner, kOuter) +
    ev(7, 5000400, "state_change", R"({"name":"span_end","span_name":"outer","duration_ms":null})", kOuter) +
    ev(8, 5000500, "goal_check", R"({"mismatches":["wrong room"],"passed":false})") +
    ev(9, 5000600, "session_end", R"({"error":null,"status":"Completed"})");

const ojson& spans_of(const ojson& doc) { return doc["resourceSpans"][0]["scopeSpans"][0]["spans"]; }

const ojson* span_named(const ojson& doc, const std::string& name) {
  for (const auto& span : spans_of(doc)) {
    if (span["name"] == name) return &span;
  }
  return nullptr;
}

// The value of attribute `key` (an AnyValue object), or null when absent.
ojson attribute(const ojson& holder, const std::string& key) {
  for (const auto& a : holder["attributes"]) {
    if (a["key"] == key) return a["value"];
  }
  return nullptr;
}

std::vector<std::string> event_names(const ojson& span) {
  std::vector<std::string> names;
  for (const auto& e : span["events"]) names.push_back(e["name"].get<std::string>());
  return names;
}

ojson str(const std::string& s) { return ojson{{"stringValue", s}}; }
ojson integer(const std::string& s) { return ojson{{"intValue", s}}; }

std::string digest_hex(const std::string& session_id) {
  return promptetheus::detail::sha256_hex("promptetheus.trace\n" + session_id);
}

}  // namespace

TEST_CASE("otlp export: the root span and one span per recorded span, parented as recorded", "[analysis][otlp]") {
  const ojson doc = otlp_trace_document(parse_jsonl(kSession, "t"));
  const ojson& spans = spans_of(doc);
  REQUIRE(spans.size() == 3);
  CHECK(spans[0]["name"] == "promptetheus.session s1");
  CHECK(spans[1]["name"] == "outer");
  CHECK(spans[2]["name"] == "inner");
  for (const auto& span : spans) {
    CHECK(span["kind"] == 1);
    CHECK(span["traceId"] == spans[0]["traceId"]);
  }
  CHECK_FALSE(spans[0].contains("parentSpanId"));
  CHECK(spans[1]["parentSpanId"] == spans[0]["spanId"]);
  CHECK(spans[2]["parentSpanId"] == spans[1]["spanId"]);
  // Ids: derived from the session id when no trace was recorded; a span's is its id's first half.
  CHECK(spans[0]["traceId"] == digest_hex("s1").substr(0, 32));
  CHECK(spans[0]["spanId"] == digest_hex("s1").substr(32, 16));
  CHECK(spans[1]["spanId"] == kOuter.substr(5, 16));
  CHECK(spans[2]["spanId"] == kInner.substr(5, 16));

  CHECK(attribute(spans[0], "promptetheus.session_id") == str("s1"));
  CHECK(attribute(spans[1], "promptetheus.span_id") == str(kOuter));
  CHECK(attribute(spans[1], "promptetheus.parent_id").is_null());
  CHECK(attribute(spans[1], "promptetheus.session_id") == str("s1"));
  CHECK(attribute(spans[1], "promptetheus.span.name") == str("span_start"));
  CHECK(attribute(spans[1], "promptetheus.span.span_name") == str("outer"));
  CHECK(attribute(spans[2], "promptetheus.parent_id") == str(kOuter));
  CHECK(attribute(spans[2], "promptetheus.span.duration_ms") == integer("250"));

  // Resource and scope.
  const ojson& resource = doc["resourceSpans"][0]["resource"];
  CHECK(attribute(resource, "service.name") == str("calendar-agent"));
  const ojson& scope = doc["resourceSpans"][0]["scopeSpans"][0]["scope"];
  CHECK(scope["name"] == "promptetheus");
  CHECK(scope["version"] == promptetheus::version());
}

TEST_CASE("otlp export: times are exact nanoseconds written as strings", "[analysis][otlp]") {
  const ojson doc = otlp_trace_document(parse_jsonl(kSession, "t"));
  const ojson& spans = spans_of(doc);
  REQUIRE(spans.size() == 3);
  // The root spans the session, from its first to its last event.
  CHECK(spans[0]["startTimeUnixNano"] == ns(0));
  CHECK(spans[0]["endTimeUnixNano"] == ns(5000600));
  // Without a duration a span ends at its end marker.
  CHECK(spans[1]["startTimeUnixNano"] == ns(200));
  CHECK(spans[1]["endTimeUnixNano"] == ns(5000400));
  // duration_ms on span_start drives the end, whatever the end marker's timestamp says.
  CHECK(spans[2]["startTimeUnixNano"] == ns(300));
  CHECK(spans[2]["endTimeUnixNano"] == ns(300 + 250000));
  CHECK(spans[2]["events"][0]["timeUnixNano"] == ns(400));
}

TEST_CASE("otlp export: recorded events become span events, markers do not", "[analysis][otlp]") {
  const ojson doc = otlp_trace_document(parse_jsonl(kSession, "t"));
  const ojson& spans = spans_of(doc);
  REQUIRE(spans.size() == 3);
  CHECK(event_names(spans[0]) ==
        std::vector<std::string>{"state_change", "user_message", "goal_check", "session_end"});
  CHECK(event_names(spans[1]).empty());
  CHECK(event_names(spans[2]) == std::vector<std::string>{"tool_call", "tool_result"});
  const ojson& call = spans[2]["events"][0];
  CHECK(attribute(call, "promptetheus.session_id") == str("s1"));
  CHECK(attribute(call, "promptetheus.seq") == integer("4"));
  CHECK(attribute(call, "promptetheus.idempotency_key") == str("s1:n:4"));
  CHECK(attribute(call, "promptetheus.event_type") == str("tool_call"));
  CHECK(attribute(call, "promptetheus.tool_name") == str("search"));
  CHECK(attribute(call, "promptetheus.call_id") == str("c1"));
  // A dict is written as compact JSON text (the reference writes its Python repr).
  CHECK(attribute(call, "promptetheus.arguments") == str(R"({"q":"rooms"})"));
  // Null payload values are left out.
  CHECK(attribute(spans[2]["events"][1], "promptetheus.result").is_null());
  CHECK(attribute(spans[2]["events"][1], "promptetheus.error") == str("boom"));
}

TEST_CASE("otlp export: error statuses follow the failing events of each span", "[analysis][otlp]") {
  SECTION("a failing tool result marks its span, a failed goal check the root") {
    const ojson doc = otlp_trace_document(parse_jsonl(kSession, "t"));
    CHECK(span_named(doc, "promptetheus.session s1")->at("status")["code"] == 2);
    CHECK(span_named(doc, "outer")->at("status")["code"] == 0);
    CHECK(span_named(doc, "inner")->at("status")["code"] == 2);
  }
  const auto root_code = [](const std::string& events) {
    return spans_of(otlp_trace_document(parse_jsonl(events, "t")))[0]["status"]["code"].get<int>();
  };
  SECTION("each failing kind of event") {
    CHECK(root_code(ev(0, 0, "error", R"({"message":"x"})")) == 2);
    CHECK(root_code(ev(0, 0, "tool_result", R"({"error":"x"})")) == 2);
    CHECK(root_code(ev(0, 0, "session_end", R"({"status":"failed"})")) == 2);
    CHECK(root_code(ev(0, 0, "goal_check", R"({"passed":false})")) == 2);
  }
  SECTION("and the ones that are not") {
    CHECK(root_code(ev(0, 0, "tool_result", R"({"error":null,"result":1})")) == 0);
    CHECK(root_code(ev(0, 0, "tool_result", R"({"error":""})")) == 0);
    CHECK(root_code(ev(0, 0, "session_end", R"({"status":"OK"})")) == 0);
    CHECK(root_code(ev(0, 0, "session_end", R"({"status":"success"})")) == 0);
    CHECK(root_code(ev(0, 0, "goal_check", R"({"passed":true})")) == 0);
    CHECK(root_code(ev(0, 0, "goal_check", R"({"passed":0})")) == 0);
    CHECK(root_code(ev(0, 0, "user_message", R"({"content":"error"})")) == 0);
  }
}

TEST_CASE("otlp export: attribute values keep their kind", "[analysis][otlp]") {
  const std::string payload =
      R"({"s":"x","b":true,"i":42,"neg":-9223372036854775808,"f":1.5,"nan":NaN,"inf":-Infinity,)"
      R"("big":123456789012345678901234567890,"ints":[1,2],"strs":["a","b"],"floats":[0.5,2.5],)"
      R"("mixed":[1,"a"],"int_float":[1,2.5],"bools":[true,false],"empty":[],"nested":[[1]],)"
      R"("obj":{"k": [1, 2.0, NaN], "u":"\u00e9"},"none":null})";
  const ojson doc = otlp_trace_document(
      parse_jsonl(ev(0, 0, "metric", payload, "", "", R"(,"metadata":{"run":7,"tags":["a"]})"), "t"));
  const ojson& e = spans_of(doc)[0]["events"][0];
  const auto value = [&](const std::string& key) { return attribute(e, "promptetheus." + key); };
  CHECK(value("s") == str("x"));
  CHECK(value("b") == ojson{{"boolValue", true}});
  CHECK(value("i") == integer("42"));
  CHECK(value("neg") == integer("-9223372036854775808"));
  CHECK(value("f") == ojson{{"doubleValue", 1.5}});
  CHECK(value("nan") == ojson{{"doubleValue", "NaN"}});
  CHECK(value("inf") == ojson{{"doubleValue", "-Infinity"}});
  // Beyond 64 bits: every digit kept, as text.
  CHECK(value("big") == str("123456789012345678901234567890"));
  CHECK(value("ints") == ojson{{"arrayValue", {{"values", {integer("1"), integer("2")}}}}});
  CHECK(value("strs") == ojson{{"arrayValue", {{"values", {str("a"), str("b")}}}}});
  CHECK(value("floats") ==
        ojson{{"arrayValue", {{"values", {ojson{{"doubleValue", 0.5}}, ojson{{"doubleValue", 2.5}}}}}}});
  // Lists of mixed types, of bools, empty or nested, and objects: compact JSON text.
  CHECK(value("mixed") == str(R"([1,"a"])"));
  CHECK(value("int_float") == str("[1,2.5]"));
  CHECK(value("bools") == str("[true,false]"));
  CHECK(value("empty") == str("[]"));
  CHECK(value("nested") == str("[[1]]"));
  CHECK(value("obj") == str(R"({"k":[1,2.0,null],"u":"\u00e9"})"));
  CHECK(value("none").is_null());
  CHECK(attribute(e, "promptetheus.metadata.run") == integer("7"));
  CHECK(attribute(e, "promptetheus.metadata.tags") == ojson{{"arrayValue", {{"values", {str("a")}}}}});
}

TEST_CASE("otlp export: a session started by a traced request stays in that trace", "[analysis][otlp]") {
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller = "00f067aa0ba902b7";
  const auto started = [](const std::string& metadata) {
    return ev(0, 0, "state_change", R"({"after":{"agent":"a"},"name":"session_started"})", "", "",
              R"(,"metadata":)" + metadata) +
           ev(1, 10, "state_change", R"({"name":"span_start","span_name":"outer"})", kOuter);
  };
  SECTION("a valid trace id and parent span id") {
    const ojson doc = otlp_trace_document(parse_jsonl(
        started(R"({"trace_id":")" + trace + R"(","parent_span_id":")" + caller + R"(","trace_flags":"01"})"), "t"));
    const ojson& spans = spans_of(doc);
    REQUIRE(spans.size() == 2);
    CHECK(spans[0]["traceId"] == trace);
    CHECK(spans[1]["traceId"] == trace);
    CHECK(spans[0]["parentSpanId"] == caller);
    // The root keeps its own id, derived from the session id.
    CHECK(spans[0]["spanId"] == digest_hex("s1").substr(32, 16));
    CHECK(spans[1]["parentSpanId"] == spans[0]["spanId"]);
    CHECK_FALSE(spans[0].contains("traceState"));
  }
  SECTION("the recorded tracestate goes with the trace, when it is valid") {
    const std::string ids = R"("trace_id":")" + trace + R"(","parent_span_id":")" + caller + "\"";
    const ojson doc = otlp_trace_document(parse_jsonl(started("{" + ids + R"(,"tracestate":"rojo=1,congo=t61"})"), "t"));
    for (const auto& span : spans_of(doc)) CHECK(span["traceState"] == "rojo=1,congo=t61");
    const ojson bad = otlp_trace_document(parse_jsonl(started("{" + ids + R"(,"tracestate":"Bad Key=1"})"), "t"));
    CHECK_FALSE(spans_of(bad)[0].contains("traceState"));
  }
  SECTION("invalid ids are not used") {
    for (const std::string& bad : {std::string(32, '0'), std::string("4BF92F3577B34DA6A3CE929D0E0E4736"),
                                   trace.substr(1), trace + "0"}) {
      const ojson doc = otlp_trace_document(parse_jsonl(
          started(R"({"trace_id":")" + bad + R"(","parent_span_id":")" + caller + R"("})"), "t"));
      CHECK(spans_of(doc)[0]["traceId"] == digest_hex("s1").substr(0, 32));
      CHECK_FALSE(spans_of(doc)[0].contains("parentSpanId"));
    }
    const ojson doc = otlp_trace_document(
        parse_jsonl(started(R"({"trace_id":")" + trace + R"(","parent_span_id":"0000000000000000"})"), "t"));
    CHECK(spans_of(doc)[0]["traceId"] == trace);
    CHECK_FALSE(spans_of(doc)[0].contains("parentSpanId"));
  }
}

TEST_CASE("otlp export: resource attributes", "[analysis][otlp]") {
  OtlpExportOptions options;
  options.resource_attributes = {{"deployment.environment", "test"}};
  const ojson doc = otlp_trace_document(parse_jsonl(kSession, "t"), options);
  const ojson& resource = doc["resourceSpans"][0]["resource"];
  CHECK(attribute(resource, "service.name") == str("calendar-agent"));
  CHECK(attribute(resource, "deployment.environment") == str("test"));
  options.resource_attributes["service.name"] = "billing";
  CHECK(attribute(otlp_trace_document(parse_jsonl(kSession, "t"), options)["resourceSpans"][0]["resource"],
                  "service.name") == str("billing"));
  // No session_started, no agent: the default name.
  CHECK(attribute(otlp_trace_document(parse_jsonl(ev(0, 0, "user_message", "{}"), "t"))["resourceSpans"][0]["resource"],
                  "service.name") == str("promptetheus-agent"));
}

TEST_CASE("otlp export: a session without spans, and one without events", "[analysis][otlp]") {
  const ojson doc = otlp_trace_document(
      parse_jsonl(ev(0, 0, "user_message", R"({"content":"hi"})") + ev(1, 1500, "agent_message", "{}"), "t"));
  REQUIRE(spans_of(doc).size() == 1);
  CHECK(spans_of(doc)[0]["startTimeUnixNano"] == ns(0));
  CHECK(spans_of(doc)[0]["endTimeUnixNano"] == ns(1500));
  CHECK(event_names(spans_of(doc)[0]) == std::vector<std::string>{"user_message", "agent_message"});

  OtlpExportOptions options;
  options.fallback_time_unix_nano = 42;
  const ojson empty = otlp_trace_document(parse_jsonl(std::string(), "t"), options);
  REQUIRE(spans_of(empty).size() == 1);
  CHECK(spans_of(empty)[0]["name"] == "promptetheus.session");
  CHECK(spans_of(empty)[0]["attributes"].empty());
  CHECK(spans_of(empty)[0]["startTimeUnixNano"] == "42");
  CHECK(spans_of(empty)[0]["endTimeUnixNano"] == "42");
  CHECK(spans_of(empty)[0]["status"]["code"] == 0);
}

TEST_CASE("otlp export: timestamps in other ISO-8601 forms are converted exactly", "[analysis][otlp]") {
  const auto first_time = [](const std::string& timestamp) {
    const std::string line = R"({"seq":0,"session_id":"s1","timestamp":")" + timestamp + R"(","type":"x"})";
    return spans_of(otlp_trace_document(parse_jsonl(line, "t")))[0]["startTimeUnixNano"].get<std::string>();
  };
  const std::string base = std::to_string(kEpoch2024);
  CHECK(first_time("2024-01-01T00:00:00.000001Z") == base + "000001000");
  CHECK(first_time("2024-01-01T00:00:00.123456789Z") == base + "123456789");
  CHECK(first_time("2024-01-01T00:00:00.5+00:00") == base + "500000000");
  CHECK(first_time("2024-01-01T00:00:00") == base + "000000000");  // naive: UTC
  CHECK(first_time("2024-01-01T02:30:00+02:30") == base + "000000000");
  CHECK(first_time("2023-12-31T23:00:00-01:00") == base + "000000000");
}

TEST_CASE("otlp export: odd sessions never throw", "[analysis][otlp]") {
  OtlpExportOptions options;
  options.fallback_time_unix_nano = 7;
  const std::string odd =
      "[1,2]\n\"text\"\nnull\n"
      // no timestamp, a bad one, a span id of another form, a lone surrogate
      R"({"seq":"x","session_id":"s\ud800","type":"tool_call","span_id":"custom","payload":{"a":"\udc00"}})" "\n"
      R"({"seq":1,"timestamp":"yesterday","type":"state_change","span_id":"custom","payload":{"name":"span_start","span_name":7,"duration_ms":"fast"}})" "\n"
      // a parent cycle a <-> b, an unknown parent, a self parent
      R"({"type":"state_change","span_id":"span_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","parent_id":"span_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","payload":{"name":"span_start","duration_ms":1e300}})" "\n"
      R"({"type":"state_change","span_id":"span_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","parent_id":"span_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","payload":{"name":"span_start","duration_ms":-5}})" "\n"
      R"({"type":"state_change","span_id":"span_cccccccccccccccccccccccccccccccc","parent_id":"nowhere","payload":{"name":"span_start"}})" "\n"
      R"({"type":"state_change","span_id":"self","parent_id":"self","payload":{"name":"span_end","duration_ms":NaN}})" "\n"
      R"({"type":"state_change","payload":{"name":"span_end"}})" "\n"
      R"({"type":"session_end","payload":{"status":null},"timestamp":"2024-01-01T00:00:00Z","metadata":[1]})" "\n";
  ojson doc;
  REQUIRE_NOTHROW(doc = otlp_trace_document(parse_jsonl(odd, "t"), options));
  REQUIRE_NOTHROW(doc.dump());  // valid UTF-8 throughout
  const ojson& spans = spans_of(doc);
  REQUIRE(spans.size() == 6);  // root, custom, a, b, c, self
  // The cycle is cut where it closes: a is under the root, b under a.
  std::string a_id;
  for (const auto& span : spans) {
    if (attribute(span, "promptetheus.span_id") == str("span_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) {
      a_id = span["spanId"].get<std::string>();
    }
  }
  for (const auto& span : spans) {
    const ojson id = attribute(span, "promptetheus.span_id");
    if (id == str("span_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) CHECK(span["parentSpanId"] == spans[0]["spanId"]);
    if (id == str("span_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")) CHECK(span["parentSpanId"] == a_id);
    if (id == str("span_cccccccccccccccccccccccccccccccc")) CHECK(span["parentSpanId"] == spans[0]["spanId"]);
    if (id == str("self")) CHECK(span["parentSpanId"] == spans[0]["spanId"]);
    CHECK(span["spanId"].get<std::string>().size() == 16);
    CHECK(std::stoll(span["endTimeUnixNano"].get<std::string>()) >=
          std::stoll(span["startTimeUnixNano"].get<std::string>()));
  }
  // The only readable timestamp times the root; session_end without an ok status is an error.
  CHECK(spans[0]["startTimeUnixNano"] == std::to_string(kEpoch2024) + "000000000");
  CHECK(spans[0]["status"]["code"] == 2);
}

TEST_CASE("otlp export: deep nesting, and a longer parent cycle cut where it closes", "[analysis][otlp]") {
  const auto id = [](int i) {
    char text[64];
    std::snprintf(text, sizeof text, "span_%016x%016x", i + 1, 0);
    return std::string(text);
  };
  SECTION("twenty thousand nested spans, each under the one before") {
    constexpr int kDepth = 20000;
    std::string lines;
    for (int i = 0; i < kDepth; ++i) {
      lines += ev(i, i, "state_change", R"({"name":"span_start","span_name":"s)" + std::to_string(i) + "\"}", id(i),
                  i == 0 ? "" : id(i - 1));
    }
    const ojson doc = otlp_trace_document(parse_jsonl(lines, "t"));
    const ojson& spans = spans_of(doc);
    REQUIRE(spans.size() == kDepth + 1);
    CHECK(spans[1]["parentSpanId"] == spans[0]["spanId"]);
    bool nested = true;
    for (int i = 2; i <= kDepth; ++i) nested = nested && spans[i]["parentSpanId"] == spans[i - 1]["spanId"];
    CHECK(nested);
  }
  SECTION("x under a, and a under b under c under a") {
    const std::string lines =
        ev(0, 0, "state_change", R"({"name":"span_start","span_name":"x"})", id(0), id(1)) +
        ev(1, 1, "state_change", R"({"name":"span_start","span_name":"a"})", id(1), id(2)) +
        ev(2, 2, "state_change", R"({"name":"span_start","span_name":"b"})", id(2), id(3)) +
        ev(3, 3, "state_change", R"({"name":"span_start","span_name":"c"})", id(3), id(1));
    const ojson doc = otlp_trace_document(parse_jsonl(lines, "t"));
    const ojson& spans = spans_of(doc);
    REQUIRE(spans.size() == 5);
    // Walking up from x, the cycle closes at a: a is under the root, c under a, b under c.
    CHECK(spans[1]["name"] == "a");
    CHECK(spans[1]["parentSpanId"] == spans[0]["spanId"]);
    CHECK(span_named(doc, "x")->at("parentSpanId") == spans[1]["spanId"]);
    CHECK(span_named(doc, "c")->at("parentSpanId") == spans[1]["spanId"]);
    CHECK(span_named(doc, "b")->at("parentSpanId") == span_named(doc, "c")->at("spanId"));
    // The recorded parents are kept as attributes.
    CHECK(attribute(spans[1], "promptetheus.parent_id") == str(id(2)));
  }
}
