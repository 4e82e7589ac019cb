// `POST /v1/traces` of the dev server (dev/otlp_receiver.hpp, dev/otlp_ingest.hpp) over real HTTP:
// OTLP/HTTP JSON spans become sessions and events, join the agent session of their trace, and
// bad input is answered as OTLP says. The OpenTelemetry JS SDK's exporters drive the same route
// in tests/otel_js.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdio>

#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "core/hex.hpp"
#include "core/json_writer.hpp"
#include "core/trace_identity.hpp"
#include "dev/dev_store.hpp"
#include "dev/otlp_ingest.hpp"
#include "dev/otlp_span_record.hpp"
#include "dev_server_fixture.hpp"

using nlohmann::json;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::gzip_compress;
using promptetheus::testing::raw_http;

namespace {

const std::string kTrace = "5b8efff798038103d269b633813fc60c";
const std::string kRootSpan = "eee19b7ec3c1b174";
const std::string kChildSpan = "eee19b7ec3c1b173";
constexpr std::int64_t kStart = 1764000000123456789;  // 2025-11-24T16:00:00.123456789Z

json string_attribute(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

json span(const std::string& trace, const std::string& id, const std::string& parent, const std::string& name,
          std::int64_t start, std::int64_t end) {
  json s{{"traceId", trace},
         {"spanId", id},
         {"name", name},
         {"kind", 2},
         {"startTimeUnixNano", std::to_string(start)},
         {"endTimeUnixNano", std::to_string(end)}};
  if (!parent.empty()) s["parentSpanId"] = parent;
  return s;
}

// A list of spans, whatever their number (a one-element braced list of json would be the element).
json request(std::initializer_list<json> spans, const std::string& service = "checkout");

json request_of(const json& spans, const std::string& service = "checkout") {
  json scope_spans = json::object({{"scope", {{"name", "shop.http"}, {"version", "1.0"}}}, {"spans", spans}});
  json resource = json::object({{"attributes", json::array({string_attribute("service.name", service)})}});
  json resource_spans = json::object({{"resource", resource}, {"scopeSpans", json::array({scope_spans})}});
  return json::object({{"resourceSpans", json::array({resource_spans})}});
}

json request(std::initializer_list<json> spans, const std::string& service) {
  json list = json::array();
  for (const json& s : spans) list.push_back(s);
  return request_of(list, service);
}

httplib::Result post_otlp(DevServerFixture& server, const std::string& body,
                          const std::string& content_type = "application/json", httplib::Headers headers = {}) {
  return server.client().Post("/v1/traces", headers, body, content_type.c_str());
}

json post_ok(DevServerFixture& server, const json& document) {
  auto res = post_otlp(server, document.dump());
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  REQUIRE(res->get_header_value("Content-Type") == "application/json");
  return json::parse(res->body);
}

std::vector<json> events_of(DevServerFixture& server, const std::string& session) {
  auto events = server.events(session);
  REQUIRE(events);
  return *events;
}

// The one trace map_otlp_request makes of `document`.
promptetheus::devserver::OtlpTrace mapped_trace(const json& document) {
  const std::string text = document.dump();
  promptetheus::detail::JsonView view;
  REQUIRE(view.parse(text));
  std::string error;
  auto mapping = promptetheus::devserver::map_otlp_request(view.root(), error);
  REQUIRE(mapping);
  REQUIRE(mapping->traces.size() == 1);
  return std::move(mapping->traces[0]);
}

// The events of one kind: "span_start", "span_end" or another payload name, or a type.
std::vector<json> named(const std::vector<json>& events, const std::string& name) {
  std::vector<json> out;
  for (const json& e : events) {
    if (e["type"] == name || (e["payload"].is_object() && e["payload"].value("name", "") == name)) out.push_back(e);
  }
  return out;
}

// The OTel ids that joined spans of `session` still wait for as their parent (agent spans the
// SDK may deliver later), read from the database.
std::set<std::string> waiting_parents(DevServerFixture& server, const std::string& session) {
  sqlite3* db = nullptr;
  std::set<std::string> parents;
  if (sqlite3_open_v2((server.data_dir() / "promptetheus.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open the dev server's database");
  }
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT parent_span_hex FROM otel_pending_parents WHERE session_id = ?1", -1, &select,
                         nullptr) == SQLITE_OK) {
    sqlite3_bind_text(select, 1, session.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(select) == SQLITE_ROW) parents.insert(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)));
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
  return parents;
}

}  // namespace

TEST_CASE("otlp ingest: spans become a session with markers events and errors in time order", "[otlp]") {
  DevServerFixture server;
  json root = span(kTrace, kRootSpan, "", "GET /checkout", kStart, kStart + 25'400'000);
  root["attributes"] = json::array(
      {string_attribute("http.method", "GET"),
       {{"key", "http.status_code"}, {"value", {{"intValue", "9007199254740993"}}}},
       {{"key", "ratio"}, {"value", {{"doubleValue", 0.25}}}},
       {{"key", "cached"}, {"value", {{"boolValue", true}}}},
       {{"key", "tags"}, {"value", {{"arrayValue", {{"values", {{{"stringValue", "a"}}, {{"intValue", "2"}}}}}}}}},
       {{"key", "map"}, {"value", {{"kvlistValue", {{"values", {string_attribute("k", "v")}}}}}}}});
  json child = span(kTrace, kChildSpan, kRootSpan, "charge card", kStart + 1'000'000, kStart + 21'000'000);
  child["kind"] = 3;
  child["events"] = json::array(
      {{{"timeUnixNano", std::to_string(kStart + 2'000'000)}, {"name", "retry"},
        {"attributes", {{{"key", "attempt"}, {"value", {{"intValue", "2"}}}}}}},
       {{"timeUnixNano", std::to_string(kStart + 3'000'000)}, {"name", "exception"},
        {"attributes", {string_attribute("exception.type", "TimeoutError"),
                        string_attribute("exception.message", "gateway timed out"),
                        string_attribute("exception.stacktrace", "at charge()")}}}});
  child["status"] = {{"code", 2}, {"message", "gateway timed out"}};
  // The child first, as exporters send spans when they end.
  CHECK(post_ok(server, request({child, root})) == json::object());

  const std::string session = "otel_" + kTrace;
  auto trace = server.trace(session);
  REQUIRE(trace);
  CHECK((*trace)["agent"] == "checkout");
  CHECK((*trace)["source"] == "otlp");
  CHECK((*trace)["status"] == "failed");
  CHECK((*trace)["started_at"] == "2025-11-24T16:00:00Z");

  const auto events = events_of(server, session);
  REQUIRE(events.size() == 6);  // 2 starts, retry, exception, 2 ends (the exception stands for the status)
  for (std::size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i - 1]["seq"].get<std::int64_t>() < events[i]["seq"].get<std::int64_t>());
    CHECK(events[i - 1]["timestamp"].get<std::string>() <= events[i]["timestamp"].get<std::string>());
  }
  CHECK(events[0]["seq"] == kStart);  // seq is the time in Unix nanoseconds
  CHECK(events[0]["timestamp"] == "2025-11-24T16:00:00.123456Z");
  CHECK(events[0]["payload"] == json{{"name", "span_start"}, {"span_name", "GET /checkout"}});
  CHECK(events[0]["span_id"] == "span_" + kRootSpan);
  CHECK(events[0]["parent_id"].is_null());
  const json& metadata = events[0]["metadata"];
  CHECK(metadata["otel.kind"] == "server");
  CHECK(metadata["otel.service"] == "checkout");
  CHECK(metadata["otel.scope"] == "shop.http");
  CHECK(metadata["otel.trace_id"] == kTrace);
  CHECK(metadata["otel.resource"] == json{{"service.name", "checkout"}});
  CHECK(metadata["otel.attributes"]["http.status_code"] == 9007199254740993LL);
  CHECK(metadata["otel.attributes"]["ratio"] == 0.25);
  CHECK(metadata["otel.attributes"]["cached"] == true);
  CHECK(metadata["otel.attributes"]["tags"] == json::array({"a", 2}));
  CHECK(metadata["otel.attributes"]["map"] == json{{"k", "v"}});

  CHECK(events[1]["payload"]["span_name"] == "charge card");
  CHECK(events[1]["parent_id"] == "span_" + kRootSpan);
  CHECK(events[1]["metadata"]["otel.kind"] == "client");
  CHECK(events[1]["metadata"]["otel.parent_span_id"] == kRootSpan);
  CHECK(events[2]["type"] == "state_change");
  CHECK(events[2]["payload"] == json{{"name", "retry"}, {"before", nullptr}, {"after", {{"attempt", 2}}}});
  CHECK(events[2]["span_id"] == "span_" + kChildSpan);
  CHECK(events[3]["type"] == "error");
  CHECK(events[3]["payload"] == json{{"message", "gateway timed out"}, {"error_type", "TimeoutError"},
                                     {"traceback", "at charge()"}, {"handled", false}});
  CHECK(events[4]["payload"] == json{{"name", "span_end"}, {"span_name", "charge card"}, {"duration_ms", 20}});
  CHECK(events[4]["metadata"]["otel.status"] == json{{"code", "error"}, {"message", "gateway timed out"}});
  CHECK(events[5]["payload"]["duration_ms"] == 25);  // 25.4 ms rounds to 25
  CHECK(events[5]["metadata"]["otel.status"]["code"] == "unset");

  SECTION("a resent request stores nothing twice") {
    CHECK(post_ok(server, request({root, child})) == json::object());
    CHECK(events_of(server, session).size() == 6);
  }
  SECTION("a span repeated in one request is stored once") {
    const json again = span(kTrace, "0000000000000abd", kRootSpan, "twice", kStart + 100, kStart + 200);
    CHECK(post_ok(server, request({again, again})) == json::object());
    const auto all = events_of(server, session);
    REQUIRE(all.size() == 8);
    CHECK(named(all, "span_start").size() == 3);
    CHECK(named(all, "span_end").size() == 3);
  }
  SECTION("an earlier span sent later still reads in time order") {
    json early = span(kTrace, "0000000000000abc", kRootSpan, "warm cache", kStart - 5'000'000'000, kStart - 4'000'000'000);
    post_ok(server, request({early}));
    const auto all = events_of(server, session);
    REQUIRE(all.size() == 8);
    CHECK(all[0]["payload"]["span_name"] == "warm cache");
    CHECK(all[1]["payload"]["name"] == "span_end");
    CHECK(server.trace(session).value()["started_at"] == "2025-11-24T15:59:55Z");
  }
}

TEST_CASE("otlp ingest: a status error without an exception event is an error event", "[otlp]") {
  DevServerFixture server;
  json failing = span(kTrace, kRootSpan, "", "lookup", kStart, kStart + 1'000'000);
  failing["status"] = {{"code", "STATUS_CODE_ERROR"}};
  post_ok(server, request({failing}));
  const auto errors = named(events_of(server, "otel_" + kTrace), "error");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["payload"] == json{{"message", "span lookup failed"}, {"error_type", "otel.status"}, {"handled", false}});
  CHECK(errors[0]["timestamp"] == "2025-11-24T16:00:00.124456Z");  // at the span's end
}

TEST_CASE("otlp ingest: a session turns failed when a failing span arrives in a later request", "[otlp]") {
  DevServerFixture server;
  post_ok(server, request({span(kTrace, kChildSpan, kRootSpan, "ok step", kStart + 10, kStart + 20)}));
  CHECK(server.trace("otel_" + kTrace).value()["status"] == "completed");
  json failing = span(kTrace, kRootSpan, "", "request", kStart, kStart + 100);
  failing["status"] = {{"code", 2}, {"message", "boom"}};
  post_ok(server, request({failing}));
  CHECK(server.trace("otel_" + kTrace).value()["status"] == "failed");
}

TEST_CASE("otlp ingest: invalid spans are counted in partialSuccess and the others stored", "[otlp]") {
  DevServerFixture server;
  json spans = json::array({span(kTrace, kRootSpan, "", "good", kStart, kStart + 1),
                            span("00000000000000000000000000000000", kRootSpan, "", "zero trace", kStart, kStart),
                            span(kTrace, "xyz", "", "bad span id", kStart, kStart),
                            span(kTrace, kChildSpan, "123", "bad parent", kStart, kStart)});
  json no_start = span(kTrace, "0000000000000001", "", "no start", kStart, kStart);
  no_start.erase("startTimeUnixNano");
  spans.push_back(no_start);
  const json response = post_ok(server, request_of(spans));
  CHECK(response["partialSuccess"]["rejectedSpans"] == "4");  // int64 as a string
  CHECK(response["partialSuccess"]["errorMessage"] ==
        "resourceSpans[0].scopeSpans[0].spans[1]: traceId must be 32 hex digits, not all zero");
  CHECK(events_of(server, "otel_" + kTrace).size() == 2);
}

TEST_CASE("otlp ingest: malformed bodies and media types get OTLP errors", "[otlp]") {
  DevServerFixture server;
  auto res = post_otlp(server, "{not json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["code"] == 3);
  res = post_otlp(server, R"({"resourceSpans": {"not": "a list"}})");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["message"] == "resourceSpans, scopeSpans and spans must be lists of objects");
  res = post_otlp(server, "[]");
  REQUIRE(res);
  CHECK(res->status == 400);
  res = post_otlp(server, "spans", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 415);
  res = server.client().Get("/v1/traces");
  REQUIRE(res);
  CHECK(res->status == 405);
  // An empty request is a request with no spans.
  CHECK(post_ok(server, json::object()) == json::object());
  // Invalid UTF-8 in a string is refused as nlohmann refuses it on the other routes.
  res = post_otlp(server, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"\xff\"}]}]}]}");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(json::parse(res->body)["message"] == "malformed JSON body");
}

TEST_CASE("otlp ingest: gzip bodies are accepted and limits apply", "[otlp]") {
  DevServerFixture server([](promptetheus::devserver::DevServerOptions& options) {
    options.limits.max_decoded_bytes = 4096;
  });
  const std::string body = request({span(kTrace, kRootSpan, "", "zipped", kStart, kStart + 1)}).dump();
  auto res = post_otlp(server, gzip_compress(body), "application/json", {{"Content-Encoding", "gzip"}});
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(events_of(server, "otel_" + kTrace).size() == 2);
  const std::string big = request({span(kTrace, kChildSpan, "", std::string(8000, 'x'), kStart, kStart)}).dump();
  res = post_otlp(server, gzip_compress(big), "application/json", {{"Content-Encoding", "gzip"}});
  REQUIRE(res);
  CHECK(res->status == 413);
}

TEST_CASE("otlp ingest: credentials on loopback are optional but checked when sent", "[otlp]") {
  DevServerFixture server;
  const std::string body = request({span(kTrace, kRootSpan, "", "s", kStart, kStart + 1)}).dump();
  auto res = post_otlp(server, body, "application/json", {{"Authorization", "Bearer wrong"}});
  REQUIRE(res);
  CHECK(res->status == 401);
  res = post_otlp(server, body, "application/json", {{"Authorization", "Bearer " + server.api_key()}});
  REQUIRE(res);
  CHECK(res->status == 200);
  // A page on another site that resolves to this machine (DNS rebinding) names its own host.
  const std::string raw = raw_http(server.port(), "POST /v1/traces HTTP/1.1\r\nHost: attacker.test\r\n"
                                                  "Content-Type: application/json\r\nContent-Length: " +
                                                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  CHECK(raw.rfind("HTTP/1.1 401", 0) == 0);
}

TEST_CASE("otlp ingest: spans of an agent session's trace join that session under its spans", "[otlp]") {
  DevServerFixture server;
  const std::string agent_span = "span_aaaabbbbccccdddd0123456789abcdef";
  const std::string caller_parent = "00f067aa0ba902b7";
  const auto post_agent_events = [&](const std::string& session, const json& metadata) {
    REQUIRE(server.create_trace(session) == 201);
    json started{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
                 {"seq", 0}, {"idempotency_key", session + ":0"},
                 {"payload", {{"name", "session_started"}, {"before", nullptr}, {"after", json::object()}}}};
    if (!metadata.is_null()) started["metadata"] = metadata;
    json tool{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.100000Z"},
              {"seq", 1}, {"idempotency_key", session + ":1"},
              {"payload", {{"name", "span_start"}, {"span_name", "call inventory"}}},
              {"span_id", agent_span}, {"parent_id", nullptr}};
    auto res = server.client().Post("/api/traces/" + session + "/events",
                                    {{"Authorization", "Bearer " + server.api_key()}},
                                    json{{"events", {started, tool}}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  };

  SECTION("a session that joined an incoming trace") {
    post_agent_events("agent_in", {{"trace_id", kTrace}, {"parent_span_id", caller_parent}, {"trace_flags", "01"}});
    const std::string root =
        promptetheus::detail::lower_hex(promptetheus::detail::trace_identity("agent_in", {}).root_span_id);
    post_ok(server, request({span(kTrace, "1111111111111111", agent_span.substr(5, 16), "GET /stock", kStart, kStart + 5),
                             span(kTrace, "2222222222222222", root, "agent side work", kStart, kStart + 5),
                             span(kTrace, "3333333333333333", "4444444444444444", "deeper", kStart + 1, kStart + 2)},
                            "inventory"));
    CHECK_FALSE(server.trace("otel_" + kTrace));
    const auto events = events_of(server, "agent_in");
    REQUIRE(events.size() == 2 + 6);
    CHECK(events[0]["seq"] == 0);
    CHECK(events[1]["seq"] == 1);  // the SDK's own seqs come first; the spans follow at their times
    std::map<std::string, json> parents;
    for (const json& e : named(events, "span_start")) parents[e["payload"]["span_name"]] = e["parent_id"];
    CHECK(parents["GET /stock"] == agent_span);
    CHECK(parents["agent side work"].is_null());
    CHECK(parents["deeper"] == "span_4444444444444444");
    CHECK(server.trace("agent_in").value()["status"] == "running");  // the agent's record is its own
  }
  SECTION("a session without an incoming trace owns the trace derived from its id") {
    post_agent_events("agent_own", nullptr);
    const std::string trace =
        promptetheus::detail::lower_hex(promptetheus::detail::trace_identity("agent_own", {}).trace_id);
    post_ok(server, request({span(trace, "1111111111111111", agent_span.substr(5, 16), "GET /stock", kStart, kStart + 5)}));
    CHECK(events_of(server, "agent_own").size() == 4);
    CHECK_FALSE(server.trace("otel_" + trace));
  }
}

TEST_CASE("otlp mapping: lenient forms and bounds", "[otlp]") {
  std::string error;
  // The mapping reads a JsonView of the request text, as the receiver does.
  std::string text;
  promptetheus::detail::JsonView view;
  const auto map_otlp_request = [&](const json& document, std::string& message) {
    text = document.dump();
    REQUIRE(view.parse(text));
    return promptetheus::devserver::map_otlp_request(view.root(), message);
  };
  // Uppercase ids, enum names, numeric times, an end before the start, an event past the end.
  json s{{"traceId", "5B8EFFF798038103D269B633813FC60C"}, {"spanId", "EEE19B7EC3C1B174"}, {"name", "n"},
         {"kind", "SPAN_KIND_PRODUCER"}, {"startTimeUnixNano", 2000}, {"endTimeUnixNano", "1000"},
         {"events", {{{"timeUnixNano", "999999"}, {"name", "late"}}}}};
  // An attribute nested 100 levels deep: kept to 64 levels, the rest null, without deep recursion.
  json deep = {{"stringValue", "bottom"}};
  for (int i = 0; i < 100; ++i) deep = {{"arrayValue", {{"values", json::array({std::move(deep)})}}}};
  s["attributes"] = json::array({{{"key", "deep"}, {"value", std::move(deep)}}});
  auto mapping = map_otlp_request(request({s}), error);
  REQUIRE(mapping);
  CHECK(mapping->accepted_spans == 1);
  REQUIRE(mapping->traces.size() == 1);
  const auto& trace = mapping->traces[0];
  CHECK(trace.trace_id == kTrace);
  REQUIRE(trace.events.size() == 3);
  const json start_metadata = json::parse(trace.events[0].metadata);
  CHECK(start_metadata["otel.kind"] == "producer");
  CHECK(trace.events[0].span_id == "span_" + kRootSpan);
  CHECK(trace.events[1].time_unix_nano == 2000);  // clamped into the span (which ends at its start)
  CHECK(trace.events[2].time_unix_nano == 2000);
  CHECK(json::parse(trace.events[2].payload)["duration_ms"] == 0);
  const json* level = &start_metadata["otel.attributes"]["deep"];
  int depth = 0;
  while (level->is_array() && !level->empty()) {
    level = &(*level)[0];
    ++depth;
  }
  CHECK(depth == 64);
  CHECK(level->is_null());

  CHECK_FALSE(map_otlp_request(json::array(), error));
  CHECK(error == "an ExportTraceServiceRequest must be a JSON object");
  CHECK_FALSE(map_otlp_request(json{{"resourceSpans", {1}}}, error));
  CHECK(map_otlp_request(json{{"resourceSpans", nullptr}}, error).value().traces.empty());
  json too_late = s;
  too_late["startTimeUnixNano"] = "9223372036854775808";  // past int64
  CHECK(map_otlp_request(request({too_late}), error).value().rejected_spans == 1);
}

TEST_CASE("otlp mapping: the stored event texts are canonical JSON", "[otlp]") {
  // Every member the mapping writes by hand: attributes of each AnyValue kind, escapes and
  // non-ASCII text, span events (an exception and another), a status error, a parent.
  json s = span(kTrace, kChildSpan, kRootSpan, "GET /caf\u00e9 \"q\"", kStart, kStart + 1500000);
  s["attributes"] = json::array(
      {string_attribute("z.text", "tab\there \u2028 \xF0\x9F\x98\x80"),
       {{"key", "a.int"}, {"value", {{"intValue", "-42"}}}},
       {{"key", "m.double"}, {"value", {{"doubleValue", 0.1}}}},
       {{"key", "m.nan"}, {"value", {{"doubleValue", "NaN"}}}},
       {{"key", "b.bool"}, {"value", {{"boolValue", true}}}},
       {{"key", "c.bytes"}, {"value", {{"bytesValue", "AAEC"}}}},
       {{"key", "d.list"},
        {"value", {{"arrayValue", {{"values", json::array({{{"intValue", 1}}, {{"stringValue", "x"}}})}}}}}},
       {{"key", "e.map"},
        {"value", {{"kvlistValue", {{"values", json::array({string_attribute("y", "2"), string_attribute("x", "1")})}}}}}},
       {{"key", "f.none"}, {"value", nullptr}}});
  s["events"] = json::array(
      {{{"name", "exception"},
        {"timeUnixNano", std::to_string(kStart + 10)},
        {"attributes", json::array({string_attribute("exception.type", "ValueError"),
                                    string_attribute("exception.message", "bad \"value\"")})}},
       {{"name", "retry \u00e9"}, {"timeUnixNano", std::to_string(kStart + 20)},
        {"attributes", json::array({string_attribute("attempt", "2")})}}});
  s["status"] = {{"code", 2}, {"message", "upstream \u00e9"}};
  json failed_by_status = span(kTrace, kRootSpan, "", "root", kStart, kStart + 2000000);
  failed_by_status["status"] = {{"code", "STATUS_CODE_ERROR"}};
  const auto trace = mapped_trace(request({s, failed_by_status}));
  REQUIRE(trace.events.size() == 7);  // 2 + 2 span events, an error, 2
  const std::string session = "otel_\"s\" \u00e9";
  const std::string parent = "span_" + kRootSpan;
  std::string head;
  std::string tail;
  for (const auto& event : trace.events) {
    for (const std::string* parent_id : {static_cast<const std::string*>(nullptr), &parent}) {
      promptetheus::devserver::otlp_event_text(event, session, parent_id, "ws_local", "proj \u00e9", head, tail);
      const std::string stored = head + "1764000000123456789" + tail;
      const json parsed = json::parse(stored);
      CHECK(promptetheus::detail::canonical_json(parsed) == stored);
      CHECK(parsed["session_id"] == session);
      CHECK(parsed["seq"] == 1764000000123456789);
      CHECK(parsed["parent_id"] == (parent_id ? json(parent) : json(nullptr)));
    }
  }
  const json start = json::parse(trace.events[0].metadata);
  CHECK(start["otel.attributes"]["e.map"] == json({{"x", "1"}, {"y", "2"}}));
  CHECK(start["otel.attributes"]["m.nan"] == "NaN");
  CHECK(start["otel.attributes"]["f.none"].is_null());
  CHECK(json::parse(trace.events[1].payload)["message"] == "bad \"value\"");

  // An envelope given as a tree (an event moved between sessions) splits the same way.
  for (const json& envelope : {json{{"a", 1}, {"seq", 9}, {"z", {{"k", "\u00e9"}}}}, json{{"seq", 9}, {"z", 1}},
                               json{{"a", 1}, {"b", nullptr}}, json::object()}) {
    const auto event = promptetheus::devserver::unnumbered_event("key", 3, envelope, "");
    json numbered = envelope;
    numbered["seq"] = 42;
    CHECK(event.head + "42" + event.tail == promptetheus::detail::canonical_json(numbered));
  }
}

TEST_CASE("otlp span records give back the texts of the events they were made of", "[otlp]") {
  json s = span(kTrace, kChildSpan, kRootSpan, "GET /caf\u00e9 \"q\"", kStart, kStart + 1500000);
  s["attributes"] = json::array({string_attribute("z.text", "line\nbreak 12:34 \u00e9"),
                                 {{"key", "a.int"}, {"value", {{"intValue", "-42"}}}}});
  s["events"] = json::array(
      {{{"name", "exception"},
        {"timeUnixNano", std::to_string(kStart + 10)},
        {"attributes", json::array({string_attribute("exception.message", "bad \"value\"")})}},
       {{"name", "retry"}, {"timeUnixNano", std::to_string(kStart + 20)}}});
  s["status"] = {{"code", 2}, {"message", "upstream"}};
  json root = span(kTrace, kRootSpan, "", "root", kStart, kStart + 2000000);
  const auto trace = mapped_trace(request({s, root}));
  const auto& events = trace.events;
  REQUIRE(events.size() == 6);  // the child: start, 2 span events, end; the root: start, end

  const std::string session = "otel_" + kTrace;
  const std::string parent = "span_" + kRootSpan;
  for (const std::string* parent_id : {static_cast<const std::string*>(nullptr), &parent}) {
    for (const auto& [first, count] : {std::pair<std::size_t, std::size_t>{0, 4}, {4, 2}}) {
      std::vector<const promptetheus::devserver::OtlpEvent*> of_span;
      for (std::size_t i = first; i < first + count; ++i) of_span.push_back(&events[i]);
      const std::string record = promptetheus::devserver::encode_otlp_span_record(of_span, kTrace, parent_id, "ws_local",
                                                                                  "proj \u00e9");
      std::vector<promptetheus::devserver::SpanRecordEvent> decoded;
      REQUIRE(promptetheus::devserver::decode_otlp_span_record(record, session, decoded));
      REQUIRE(decoded.size() == count);
      std::string head;
      std::string tail;
      for (std::size_t i = 0; i < count; ++i) {
        promptetheus::devserver::otlp_event_text(events[first + i], session, parent_id, "ws_local", "proj \u00e9", head,
                                                 tail);
        CHECK(decoded[i].time_unix_nano == events[first + i].time_unix_nano);
        CHECK(decoded[i].head == head);
        CHECK(decoded[i].tail == tail);
      }
      // What the record leaves out is shorter than what it stands for.
      std::size_t texts = 0;
      for (std::size_t i = 0; i < count; ++i) texts += decoded[i].head.size() + decoded[i].tail.size();
      CHECK(record.size() < texts);

      // Damaged records are refused whole, and leave what was decoded before alone.
      for (const std::string& damaged : {record.substr(0, record.size() - 1), record + "1", "9" + record,
                                         std::string("11:otlp-span/2") + record.substr(14), std::string(),
                                         record + "0:12:state_change2:{}2:T}", record + "2:1x12:state_change2:{}2:T}",
                                         record + "1:55:error2:{}2:X}"}) {
        std::vector<promptetheus::devserver::SpanRecordEvent> out(1);
        CHECK_FALSE(promptetheus::devserver::decode_otlp_span_record(damaged, session, out));
        CHECK(out.size() == 1);
      }
    }
  }
}

TEST_CASE("otlp ingest: spans sharing times get distinct seqs that later spans do not move", "[otlp]") {
  DevServerFixture server;
  const std::string session = "otel_" + kTrace;
  // Zero-length spans at the same instant: each one's start and end want the same seq.
  post_ok(server, request({span(kTrace, "0000000000000001", "", "first", kStart, kStart)}));
  post_ok(server, request({span(kTrace, "0000000000000002", "", "second", kStart, kStart)}));
  const auto before = events_of(server, session);
  REQUIRE(before.size() == 4);
  std::vector<std::int64_t> seqs;
  for (const json& e : before) seqs.push_back(e["seq"].get<std::int64_t>());
  CHECK(seqs == std::vector<std::int64_t>{kStart, kStart + 1, kStart + 2, kStart + 3});
  CHECK(before[0]["payload"]["span_name"] == "first");
  CHECK(before[1]["payload"]["name"] == "span_end");
  CHECK(before[1]["span_id"] == "span_0000000000000001");
  CHECK(before[2]["payload"]["span_name"] == "second");

  // A third span at the same instant, and one just before it, arrive later: the seqs read
  // before stay what they were.
  post_ok(server, request({span(kTrace, "0000000000000003", "", "third", kStart, kStart + 1),
                           span(kTrace, "0000000000000004", "", "earlier", kStart - 1, kStart)}));
  const auto after = events_of(server, session);
  REQUIRE(after.size() == 8);
  std::map<std::string, std::int64_t> seq_of;  // "<span id> <payload name>" → seq
  for (const json& e : after) {
    const auto [it, fresh] = seq_of.emplace(e["span_id"].get<std::string>() + " " + e["payload"]["name"].get<std::string>(),
                                            e["seq"].get<std::int64_t>());
    CHECK(fresh);
  }
  for (const json& e : before) {
    CHECK(seq_of.at(e["span_id"].get<std::string>() + " " + e["payload"]["name"].get<std::string>()) == e["seq"]);
  }
  CHECK(seq_of.at("span_0000000000000003 span_start") == kStart + 4);
  CHECK(seq_of.at("span_0000000000000003 span_end") == kStart + 5);
  CHECK(seq_of.at("span_0000000000000004 span_start") == kStart - 1);
  CHECK(seq_of.at("span_0000000000000004 span_end") == kStart + 6);
  for (std::size_t i = 1; i < after.size(); ++i) CHECK(after[i - 1]["seq"] < after[i]["seq"]);
  // Served the same way on every read.
  CHECK(events_of(server, session) == after);
}

TEST_CASE("otlp ingest: spans stored as events by an earlier version are read with new spans and not stored twice",
          "[otlp]") {
  DevServerFixture server;
  const std::string session = "otel_" + kTrace;
  const json root = span(kTrace, kRootSpan, "", "GET /checkout", kStart, kStart + 5'000'000);
  const json child = span(kTrace, kChildSpan, kRootSpan, "charge", kStart + 1'000'000, kStart + 2'000'000);
  // What the earlier version stored for `root`: its events as rows of the events table.
  server.stop();
  {
    const auto trace = mapped_trace(request({root}));
    promptetheus::devserver::DevStore store((server.data_dir() / "promptetheus.db").string());
    store.put_trace({{"id", session}, {"agent", "checkout"}, {"source", "otlp"}, {"status", "completed"}});
    std::vector<promptetheus::devserver::UnnumberedEvent> legacy;
    for (const auto& event : trace.events) {
      promptetheus::devserver::UnnumberedEvent row;
      row.idempotency_key = event.idempotency_key;
      row.preferred_seq = event.time_unix_nano;
      promptetheus::devserver::otlp_event_text(event, session, nullptr, "ws_local", "proj_local", row.head, row.tail);
      legacy.push_back(std::move(row));
    }
    const auto outcomes = store.add_events_at_free_seq(session, std::move(legacy));
    REQUIRE(outcomes);
    REQUIRE(outcomes->size() == 2);
  }
  server.restart();
  const auto legacy_events = events_of(server, session);
  REQUIRE(legacy_events.size() == 2);

  // The root resent with a new child: the root is already there.
  CHECK(post_ok(server, request({root, child})) == json::object());
  const auto events = events_of(server, session);
  REQUIRE(events.size() == 4);
  CHECK(events[0] == legacy_events[0]);
  CHECK(events[1]["payload"]["span_name"] == "charge");
  CHECK(events[1]["seq"] == kStart + 1'000'000);
  CHECK(events[2]["payload"]["name"] == "span_end");
  CHECK(events[2]["span_id"] == "span_" + kChildSpan);
  CHECK(events[3] == legacy_events[1]);
}

namespace {

// Protobuf wire pieces for a minimal ExportTraceServiceRequest.
std::string varint(std::uint64_t value) {
  std::string out;
  do {
    const auto low = static_cast<char>(value & 0x7f);
    value >>= 7;
    out += static_cast<char>(low | (value ? 0x80 : 0));
  } while (value);
  return out;
}
std::string field(int number, const std::string& bytes) {
  return varint(static_cast<std::uint64_t>(number) << 3 | 2) + varint(bytes.size()) + bytes;
}
std::string fixed64_field(int number, std::uint64_t value) {
  std::string out = varint(static_cast<std::uint64_t>(number) << 3 | 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}
std::string bytes_of_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace

TEST_CASE("otlp ingest: protobuf requests are stored and answered in protobuf", "[otlp]") {
  DevServerFixture server;
  const std::string span_bytes = field(1, bytes_of_hex(kTrace)) + field(2, bytes_of_hex(kRootSpan)) +
                                 field(5, "proto span") + fixed64_field(7, kStart) + fixed64_field(8, kStart + 2'000'000);
  const std::string body = field(1, field(2, field(2, span_bytes)));  // resource_spans → scope_spans → spans
  auto res = post_otlp(server, body, "application/x-protobuf");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "application/x-protobuf");
  CHECK(res->body.empty());  // an ExportTraceServiceResponse with nothing to report
  const auto events = events_of(server, "otel_" + kTrace);
  REQUIRE(events.size() == 2);
  CHECK(events[0]["payload"]["span_name"] == "proto span");
  CHECK(events[1]["payload"]["duration_ms"] == 2);
  CHECK(server.trace("otel_" + kTrace).value()["agent"] == "unknown_service");

  // A span with a short span id is rejected: partial_success {rejected_spans: 1, error_message}.
  const std::string bad_span = field(1, bytes_of_hex(kTrace)) + field(2, "abc") + fixed64_field(7, kStart);
  res = post_otlp(server, field(1, field(2, field(2, bad_span))), "application/x-protobuf");
  REQUIRE(res);
  CHECK(res->status == 200);
  REQUIRE(res->body.size() > 4);
  CHECK(res->body.substr(2, 2) == std::string("\x08\x01", 2));
  CHECK(res->body.find("spanId must be 16 hex digits") != std::string::npos);

  // Truncated: a google.rpc.Status with INVALID_ARGUMENT, in protobuf.
  res = post_otlp(server, body.substr(0, body.size() - 3), "application/x-protobuf");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK(res->get_header_value("Content-Type") == "application/x-protobuf");
  CHECK(res->body.substr(0, 2) == std::string("\x08\x03", 2));
  CHECK(res->body.find("malformed protobuf body") != std::string::npos);
}

TEST_CASE("otlp ingest: joins do not depend on whether the spans or the agent's events arrive first", "[otlp]") {
  DevServerFixture server;
  const std::string session = "agent_late";
  const std::string agent_span = "span_aaaabbbbccccdddd0123456789abcdef";
  const std::string root =
      promptetheus::detail::lower_hex(promptetheus::detail::trace_identity(session, {}).root_span_id);
  const auto post_agent = [&](const json& events) {
    auto res = server.client().Post("/api/traces/" + session + "/events",
                                    {{"Authorization", "Bearer " + server.api_key()}},
                                    json{{"events", events}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  };
  // The caller's span and the callee's span (under the agent's tool span) are exported first.
  post_ok(server, request({span(kTrace, "1111111111111111", "", "POST /plan", kStart, kStart + 900),
                           span(kTrace, "2222222222222222", agent_span.substr(5, 16), "GET /stock", kStart + 10, kStart + 20),
                           span(kTrace, "5555555555555555", "1111111111111111", "load plan", kStart + 1, kStart + 2)}));
  REQUIRE(server.trace("otel_" + kTrace));

  REQUIRE(server.create_trace(session) == 201);
  post_agent(json::array({{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
                           {"seq", 0}, {"idempotency_key", "late:0"},
                           {"payload", {{"name", "session_started"}, {"before", nullptr}, {"after", json::object()}}},
                           {"metadata", {{"trace_id", kTrace}, {"parent_span_id", "1111111111111111"}}}}}));
  // The waiting spans moved into the agent session; the callee still waits for its parent.
  CHECK_FALSE(server.trace("otel_" + kTrace));
  auto events = events_of(server, session);
  REQUIRE(events.size() == 7);
  CHECK(waiting_parents(server, session) == std::set<std::string>{agent_span.substr(5, 16)});
  const auto parent_of = [&](const std::vector<json>& list, const std::string& name) {
    for (const json& e : named(list, "span_start")) {
      if (e["payload"]["span_name"] == name) return e["parent_id"];
    }
    FAIL("no span_start of " << name);
    return json();
  };
  CHECK(parent_of(events, "POST /plan").is_null());
  CHECK(parent_of(events, "GET /stock") == "span_" + agent_span.substr(5, 16));

  // The agent's tool span arrives: the callee's events now point at it.
  post_agent(json::array({{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000010Z"},
                           {"seq", 1}, {"idempotency_key", "late:1"},
                           {"payload", {{"name", "span_start"}, {"span_name", "inventory"}}},
                           {"span_id", agent_span}, {"parent_id", nullptr}}}));
  events = events_of(server, session);
  REQUIRE(events.size() == 8);
  CHECK(parent_of(events, "GET /stock") == agent_span);
  CHECK(parent_of(events, "load plan") == "span_1111111111111111");
  CHECK(waiting_parents(server, session).empty());
  for (const json& e : events) {
    if (e.value("span_id", "") == "span_2222222222222222") CHECK(e["parent_id"] == agent_span);
  }
  // A span that names the session's root span arriving now is top-level at once.
  post_ok(server, request({span(kTrace, "3333333333333333", root, "agent side", kStart + 30, kStart + 40)}));
  CHECK(parent_of(events_of(server, session), "agent side").is_null());
}

TEST_CASE("otlp ingest: the SDK's own export of a session is not stored again in that session", "[otlp]") {
  DevServerFixture server;
  const std::string session = "agent_self";
  REQUIRE(server.create_trace(session) == 201);
  json started{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
               {"seq", 0}, {"idempotency_key", "self:0"},
               {"payload", {{"name", "session_started"}, {"before", nullptr}, {"after", json::object()}}}};
  auto res = server.client().Post("/api/traces/" + session + "/events", {{"Authorization", "Bearer " + server.api_key()}},
                                  json{{"events", {started}}}.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::string trace =
      promptetheus::detail::lower_hex(promptetheus::detail::trace_identity(session, {}).trace_id);
  const auto exported = [&](const std::string& id, const std::string& recorded) {
    json s = span(trace, id, "", "promptetheus.session " + recorded, kStart, kStart + 10);
    s["attributes"] = json::array({string_attribute("promptetheus.session_id", recorded)});
    return s;
  };
  // The session's own export (scope "promptetheus"), and a span of that scope about another run.
  json document = request({exported("1111111111111111", session), exported("2222222222222222", "other")});
  document["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] = "promptetheus";
  CHECK(post_ok(server, document) == json::object());
  const auto events = events_of(server, session);
  REQUIRE(events.size() == 1 + 2);
  CHECK(events[1]["span_id"] == "span_2222222222222222");
  // The same spans from another instrumentation scope are other services' spans: stored.
  post_ok(server, request({exported("3333333333333333", session)}));
  CHECK(events_of(server, session).size() == 1 + 4);
}

TEST_CASE("otlp ingest: spans join agent spans stored before and after the session's spans were first looked up", "[otlp]") {
  DevServerFixture server;
  const std::string session = "agent_long";
  const std::string trace =
      promptetheus::detail::lower_hex(promptetheus::detail::trace_identity(session, {}).trace_id);
  std::int64_t seq = 0;
  const auto post_agent = [&](const std::string& name, const std::string& span_id) {
    json event{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
               {"seq", seq}, {"idempotency_key", session + ":" + std::to_string(seq)},
               {"payload", {{"name", name}, {"span_name", name}}}};
    ++seq;
    if (!span_id.empty()) event["span_id"] = span_id, event["parent_id"] = nullptr;
    auto res = server.client().Post("/api/traces/" + session + "/events",
                                    {{"Authorization", "Bearer " + server.api_key()}},
                                    json{{"events", {event}}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  };
  const auto parent_of_span = [&](const std::string& otel_span) {
    for (const json& e : named(events_of(server, session), "span_start")) {
      if (e.value("span_id", "") == "span_" + otel_span) return e["parent_id"];
    }
    FAIL("no span_start of span_" << otel_span);
    return json();
  };
  REQUIRE(server.create_trace(session) == 201);
  post_agent("session_started", "");
  const std::string first = "span_aaaabbbbccccdddd0123456789abcdef";
  const std::string second = "span_1111222233334444ffffeeeeddddcccc";
  post_agent("span_start", first);
  post_ok(server, request({span(trace, "1000000000000001", first.substr(5, 16), "GET /a", kStart, kStart + 5)}));
  CHECK(parent_of_span("1000000000000001") == first);
  // Stored after the session's agent spans were read once: found without reading them again.
  post_agent("span_start", second);
  post_ok(server, request({span(trace, "1000000000000002", second.substr(5, 16), "GET /b", kStart + 10, kStart + 15)}));
  CHECK(parent_of_span("1000000000000002") == second);
}

TEST_CASE("dev store: agent spans looked up in more sessions than are kept in memory stay complete", "[otlp]") {
  char pattern[] = "/tmp/promptetheus-agent-spans-XXXXXX";
  REQUIRE(mkdtemp(pattern));
  {
    promptetheus::devserver::DevStore store(std::string(pattern) + "/promptetheus.db");
    const auto span_of = [](int session, int n) {
      char text[40];
      std::snprintf(text, sizeof text, "span_%08x%08x0123456789abcdef", session, n);
      return std::string(text);
    };
    const auto add_span = [&](int session, int n) {
      const std::string id = "s" + std::to_string(session);
      json event{{"type", "state_change"}, {"session_id", id}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
                 {"seq", n}, {"idempotency_key", id + ":" + std::to_string(n)},
                 {"payload", {{"name", "span_start"}, {"span_name", "step"}}}, {"span_id", span_of(session, n)}};
      promptetheus::devserver::StoredEvent stored{event["idempotency_key"], n, event.dump(), std::nullopt};
      stored.agent_span_id = span_of(session, n);
      REQUIRE(store.add_events(id, {stored}).has_value());
    };
    constexpr int kSessions = 40;  // more than the store keeps in memory
    for (int s = 0; s < kSessions; ++s) {
      store.put_trace({{"id", "s" + std::to_string(s)}, {"agent", "planner"}});
      add_span(s, 0);
    }
    for (int round = 0; round < 2; ++round) {
      for (int s = 0; s < kSessions; ++s) {
        const std::string id = "s" + std::to_string(s);
        std::vector<std::string> wanted;
        for (int n = 0; n <= round; ++n) wanted.push_back(span_of(s, n).substr(5, 16));
        wanted.push_back("ffffffffffffffff");  // no such span
        const auto found = store.agent_spans(id, wanted);
        REQUIRE(found.size() == static_cast<std::size_t>(round + 1));
        for (int n = 0; n <= round; ++n) CHECK(found.at(span_of(s, n).substr(5, 16)) == span_of(s, n));
        if (round == 0) {
          add_span(s, 1);  // into a session whose spans are in memory now, and evicted later
          CHECK(store.agent_spans(id, {span_of(s, 1).substr(5, 16)}).size() == 1);
        }
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(pattern, ec);
}

TEST_CASE("otlp ingest: a joined span waits for its parent only while that parent may still arrive", "[otlp]") {
  DevServerFixture server;
  const std::string session = "agent_waits";
  const std::string trace =
      promptetheus::detail::lower_hex(promptetheus::detail::trace_identity(session, {}).trace_id);
  const std::string agent_span = "span_aaaabbbbccccdddd0123456789abcdef";
  REQUIRE(server.create_trace(session) == 201);
  json started{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
               {"seq", 0}, {"idempotency_key", session + ":0"},
               {"payload", {{"name", "session_started"}, {"before", nullptr}, {"after", json::object()}}}};
  json tool{{"type", "state_change"}, {"session_id", session}, {"timestamp", "2025-11-24T16:00:00.000000Z"},
            {"seq", 1}, {"idempotency_key", session + ":1"},
            {"payload", {{"name", "span_start"}, {"span_name", "call inventory"}}},
            {"span_id", agent_span}, {"parent_id", nullptr}};
  auto res = server.client().Post("/api/traces/" + session + "/events", {{"Authorization", "Bearer " + server.api_key()}},
                                  json{{"events", {started, tool}}}.dump(), "application/json");
  REQUIRE(res);
  REQUIRE(res->status == 200);

  // A server span under the agent's span, its child in the same request, and a span whose parent
  // (a span of the same service, exported later) is not known yet.
  post_ok(server, request({span(trace, "1000000000000001", agent_span.substr(5, 16), "GET /stock", kStart, kStart + 50),
                           span(trace, "1000000000000002", "1000000000000001", "SELECT stock", kStart + 1, kStart + 9),
                           span(trace, "1000000000000004", "1000000000000003", "cache get", kStart + 11, kStart + 12)}));
  CHECK(waiting_parents(server, session) == std::set<std::string>{"1000000000000003"});
  // A child of a span stored by an earlier request.
  post_ok(server, request({span(trace, "1000000000000005", "1000000000000002", "fetch rows", kStart + 2, kStart + 3)}));
  CHECK(waiting_parents(server, session) == std::set<std::string>{"1000000000000003"});
  // The missing parent arrives as a span of the trace: nothing waits any more.
  post_ok(server, request({span(trace, "1000000000000003", "1000000000000001", "cache", kStart + 10, kStart + 20)}));
  CHECK(waiting_parents(server, session).empty());

  std::map<std::string, json> parents;
  for (const json& e : named(events_of(server, session), "span_start")) parents[e["payload"]["span_name"]] = e["parent_id"];
  CHECK(parents["GET /stock"] == agent_span);
  CHECK(parents["SELECT stock"] == "span_1000000000000001");
  CHECK(parents["cache get"] == "span_1000000000000003");
  CHECK(parents["fetch rows"] == "span_1000000000000002");
  CHECK(parents["cache"] == "span_1000000000000001");
}
