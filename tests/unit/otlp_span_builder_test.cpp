// The live OpenTelemetry spans the SDK builds as events pass (transport/otlp_span_builder) are
// the spans `promptetheus export --format otlp` writes for the recorded session: the same ids,
// parents, names, times, attributes, span events and statuses. And they come out as each span
// ends, not at the end of the session.
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "analysis/otlp_export.hpp"
#include "analysis/session_store.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/trace_context.hpp"
#include "core/ids.hpp"
#include "transport/memory_transport.hpp"
#include "transport/otlp_span_builder.hpp"
#include "transport/otlp_tee_transport.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;

namespace {

// The spool file's lines as the worker hands them to a transport.
std::vector<EncodedEvent> encoded_lines(const std::filesystem::path& file) {
  std::vector<EncodedEvent> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const json event = json::parse(line);
    EncodedEvent e;
    e.session_id = event["session_id"];
    e.seq = event["seq"];
    e.json = line;
    e.ends_session = event["type"] == "session_end";
    out.push_back(std::move(e));
  }
  return out;
}

// Every span of a request, by spanId, with the resource's attributes beside it.
std::map<std::string, json> spans_by_id(const json& request) {
  std::map<std::string, json> out;
  for (const json& resource : request["resourceSpans"]) {
    for (const json& scope : resource["scopeSpans"]) {
      CHECK(scope["scope"]["name"] == "promptetheus");
      for (json span : scope["spans"]) {
        span["resource"] = resource["resource"]["attributes"];
        out[span["spanId"].get<std::string>()] = span;
      }
    }
  }
  return out;
}

// Records a session with most kinds of event, values of every attribute shape, nested spans, a
// failed tool call, an error inside a span and a failed goal, started under a caller's trace.
void record_rich_session(sdk_test::TempDir& dir, const std::string& id) {
  Client client{sdk_test::spool_options(dir)};
  {
    SessionOptions so = sdk_test::session_on(client, id, "builder-agent");
    so.trace_context = TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                                           "rojo=00f067aa0ba902b7");
    so.metadata = json{{"team", "search"}};
    Session s(so);
    s.user_message("find a slot on Tuesday", json{{"channel", "chat"}});
    {
      Span outer(s, "plan");
      LlmUsage usage;
      usage.input_tokens = 120;
      usage.output_tokens = 30;
      s.llm_call("gpt-4o", usage, json{{"temperature", 0.25}});
      {
        Span inner(s, "search");
        const std::string call = s.tool_call("calendar.search", json{{"day", "Tuesday"}, {"limit", 3},
                                                                     {"ids", {1, 2, 3}},
                                                                     {"mixed", {1, "two", 3.5}},
                                                                     {"big", 18446744073709551615ull},
                                                                     {"nested", {{"a", {{"b", true}}}}}});
        s.tool_result(call, nullptr, std::string("calendar unavailable"));
        s.error("the calendar timed out", std::string("TimeoutError"));
      }
      s.metric("latency_ms", 12.5, std::string("ms"));
    }
    s.goal_check(false, {"no slot booked"});
    s.end("failed", std::string("no slot"));
  }
  REQUIRE(client.flush(std::chrono::seconds(5)));
}

}  // namespace

TEST_CASE("otlp span builder: the live spans are the spans the export writes for the recorded session",
          "[otlp][transport]") {
  sdk_test::TempDir dir;
  record_rich_session(dir, "builder-rich");
  const auto file = dir.path / "spool" / "builder-rich.jsonl";
  const auto events = encoded_lines(file);
  REQUIRE(events.size() > 10);

  detail::OtlpSpanBuilder builder(detail::OtlpSpanBuilderConfig{{{"deployment.environment", "test"}}});
  for (const auto& e : events) builder.add(e);
  CHECK(builder.open_sessions() == 0);  // session_end closed it
  std::size_t count = 0;
  const auto request = builder.take_request(count);
  REQUIRE(request);
  const json live = json::parse(*request);

  analysis::OtlpExportOptions options;
  options.resource_attributes["deployment.environment"] = "test";
  const auto recorded = analysis::read_jsonl_file(file.string());
  const json exported = json::parse(analysis::otlp_trace_document(recorded, options).dump());

  const auto live_spans = spans_by_id(live);
  const auto exported_spans = spans_by_id(exported);
  CHECK(count == 3);
  REQUIRE(live_spans.size() == 3);
  REQUIRE(exported_spans.size() == 3);
  for (const auto& [id, span] : exported_spans) {
    INFO("span " << id << " " << span["name"]);
    REQUIRE(live_spans.count(id) == 1);
    CHECK(live_spans.at(id) == span);
  }
  // What the comparison covers: statuses, a caller's trace, list and text attributes.
  std::size_t errors = 0;
  for (const auto& [id, span] : live_spans) {
    CHECK(span["traceId"] == "0af7651916cd43dd8448eb211c80319c");
    CHECK(span["traceState"] == "rojo=00f067aa0ba902b7");
    errors += span["status"]["code"] == 2 ? 1 : 0;
  }
  CHECK(errors == 2);  // the search span (failed tool, error) and the root (failed goal and end)
  CHECK(request->find("\"arrayValue\"") != std::string::npos);  // goal_check's mismatches
  CHECK(request->find("18446744073709551615") != std::string::npos);  // in the arguments' text
  CHECK(request->find("\"key\":\"service.name\",\"value\":{\"stringValue\":\"builder-agent\"}") != std::string::npos);
}

TEST_CASE("otlp span builder: a span is written when it ends, the root when the session ends", "[otlp][transport]") {
  sdk_test::TempDir dir;
  record_rich_session(dir, "builder-live");
  const auto events = encoded_lines(dir.path / "spool" / "builder-live.jsonl");
  detail::OtlpSpanBuilder builder;
  std::vector<std::string> written;  // span names, in the order the requests carried them
  std::vector<std::size_t> after_event;
  for (std::size_t i = 0; i < events.size(); ++i) {
    builder.add(events[i]);
    std::size_t n = 0;
    if (const auto request = builder.take_request(n)) {
      for (const auto& [id, span] : spans_by_id(json::parse(*request))) {
        written.push_back(span["name"]);
        after_event.push_back(i);
      }
    }
  }
  REQUIRE(written.size() == 3);
  CHECK(written[0] == "search");
  CHECK(written[1] == "plan");
  CHECK(written[2] == "promptetheus.session builder-live");
  CHECK(after_event[0] < after_event[1]);
  CHECK(after_event[1] < events.size() - 1);  // before the session ended
  CHECK(after_event[2] == events.size() - 1);
}

TEST_CASE("otlp span builder: finish_all ends what is open as of its last event", "[otlp][transport]") {
  sdk_test::TempDir dir;
  record_rich_session(dir, "builder-open");
  auto events = encoded_lines(dir.path / "spool" / "builder-open.jsonl");
  // Stop halfway through the inner span: the process stopped recording there.
  std::size_t cut = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].json.find("\"tool_result\"") != std::string::npos) cut = i + 1;
  }
  REQUIRE(cut > 0);
  events.resize(cut);
  detail::OtlpSpanBuilder builder;
  for (const auto& e : events) builder.add(e);
  std::size_t n = 0;
  CHECK_FALSE(builder.take_request(n));
  CHECK(builder.open_sessions() == 1);
  builder.finish_all();
  CHECK(builder.open_sessions() == 0);
  const auto request = builder.take_request(n);
  REQUIRE(request);
  CHECK(n == 3);
  // Nothing ends after the last event recorded.
  const std::int64_t last_ns =
      *detail::parse_timestamp(json::parse(events.back().json)["timestamp"].get<std::string>()) * 1000;
  for (const auto& [id, span] : spans_by_id(json::parse(*request))) {
    const auto start = std::stoll(span["startTimeUnixNano"].get<std::string>());
    const auto end = std::stoll(span["endTimeUnixNano"].get<std::string>());
    CHECK(start <= end);
    CHECK(end <= last_ns);
  }
}

namespace {

EncodedEvent bounded_event(std::uint64_t seq, const std::string& type, json payload, const std::string& span) {
  json e = {{"session_id", "bounded"}, {"seq", seq}, {"type", type}, {"timestamp", "2026-01-01T00:00:00.000001Z"},
            {"idempotency_key", "bounded:1:" + std::to_string(seq)}, {"payload", std::move(payload)}};
  if (!span.empty()) e["span_id"] = span;
  EncodedEvent out;
  out.session_id = "bounded";
  out.seq = seq;
  out.json = e.dump();
  out.ends_session = type == "session_end";
  return out;
}

}  // namespace

TEST_CASE("otlp span builder: the events held for open spans are bounded", "[otlp][transport]") {
  detail::OtlpSpanBuilderConfig config;
  config.max_held_bytes = 4096;
  detail::OtlpSpanBuilder builder(config);
  const auto event = bounded_event;
  const std::string span = "span_00112233445566778899aabbccddeeff";
  builder.add(event(0, "state_change", {{"name", "span_start"}, {"span_name", "long"}}, span));
  for (std::uint64_t i = 1; i <= 200; ++i) builder.add(event(i, "metric", {{"name", "m"}, {"value", 1.5}}, span));
  CHECK(builder.dropped_events() > 0);
  CHECK(builder.dropped_events() < 200);
  builder.add(event(201, "state_change", {{"name", "span_end"}, {"span_name", "long"}}, span));
  std::size_t n = 0;
  const auto request = builder.take_request(n);
  REQUIRE(request);
  CHECK(n == 1);
  const auto spans = spans_by_id(json::parse(*request));
  REQUIRE(spans.count("0011223344556677") == 1);
  CHECK(spans.at("0011223344556677")["events"].size() == 200 - builder.dropped_events());
  // Once written, the span's events no longer count: a new span holds events again.
  const std::string next = "span_ffeeddccbbaa99887766554433221100";
  builder.add(event(202, "state_change", {{"name", "span_start"}, {"span_name", "next"}}, next));
  const auto dropped = builder.dropped_events();
  builder.add(event(203, "metric", {{"name", "m"}, {"value", 2.5}}, next));
  CHECK(builder.dropped_events() == dropped);
}

TEST_CASE("otlp tee: events left out of their span are counted and the transport beside still gets them",
          "[otlp][transport]") {
  sdk_test::TempDir dir;
  auto health = std::make_shared<detail::TransportHealth>();
  auto store = std::make_shared<detail::MemoryStore>();
  detail::OtlpSpanBuilderConfig spans;
  spans.max_held_bytes = 4096;
  detail::OtlpExporterConfig exporter;
  exporter.traces_url = "http://127.0.0.1:9/v1/traces";  // nothing listens: requests wait in the outbox
  exporter.outbox_dir = (dir.path / "otlp").string();
  exporter.dead_letter_dir = (dir.path / "dead-letter" / "otlp").string();
  detail::OtlpTeeTransport tee(std::make_unique<detail::MemoryTransport>(store), spans, exporter, health);

  // The same events through a builder alone: what the tee must count.
  detail::OtlpSpanBuilder alone(spans);
  const std::string span = "span_00112233445566778899aabbccddeeff";
  std::vector<EncodedEvent> batch{bounded_event(0, "state_change", {{"name", "span_start"}, {"span_name", "long"}}, span)};
  for (std::uint64_t i = 1; i <= 200; ++i) batch.push_back(bounded_event(i, "metric", {{"name", "m"}, {"value", 1.5}}, span));
  for (const auto& e : batch) alone.add(e);
  REQUIRE(alone.dropped_events() > 0);

  tee.send(batch, Deadline::after(std::chrono::seconds(5)));
  CHECK(health->otlp_dropped_span_events.load() == alone.dropped_events());
  CHECK(store->events().size() == 201);
  tee.close(Deadline::after(std::chrono::milliseconds(200)));
  CHECK(health->otlp_dropped_span_events.load() == alone.dropped_events());
}
