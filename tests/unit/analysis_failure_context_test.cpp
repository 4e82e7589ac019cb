// The failure context (analysis/failure_context.hpp): what `get_failure_context` of the MCP
// server answers, computed from a session's events alone, and bounded.
#include <catch2/catch.hpp>

#include <string>

#include "analysis/bounded_json.hpp"
#include "analysis/failure_context.hpp"

using namespace promptetheus::analysis;
using json = nlohmann::json;

namespace {

std::string ev(int seq, const std::string& type, const std::string& payload, const std::string& span = "") {
  std::string s = R"({"payload":)" + payload + R"(,"seq":)" + std::to_string(seq) +
                  R"(,"session_id":"sess-1","timestamp":"2026-01-02T12:00:0)" + std::to_string(seq % 10) +
                  R"(.000000Z","type":")" + type + "\"";
  if (!span.empty()) s += R"(,"span_id":")" + span + "\"";
  return s + "}\n";
}

const std::string kFailedRun =
    ev(0, "state_change", R"({"after":{"agent":"calendar-agent","user_goal":"Book Tuesday"},"before":null,"name":"session_started"})") +
    ev(1, "user_message", R"({"content":"Book Tuesday"})") +
    ev(2, "tool_call", R"({"arguments":{"day":"Tuesday"},"call_id":"call-1","tool_name":"calendar.search"})", "span-a") +
    ev(3, "tool_result", R"({"call_id":"call-1","error":"TimeoutError: upstream timed out after 3133ms","result":null})", "span-a") +
    ev(4, "screenshot", R"({"artifact_id":"art-1","size_bytes":10,"storage_path":"artifacts/s/art-1/shot.png"})") +
    ev(5, "agent_message", R"({"content":"Booked Wednesday 2pm"})") +
    ev(6, "goal_check", R"({"mismatches":["selected Wednesday, not Tuesday"],"passed":false})") +
    ev(7, "error", R"({"error_type":"RuntimeError","handled":false,"message":"agent selected the wrong day"})") +
    ev(8, "session_end", R"({"error":"RuntimeError: agent selected the wrong day","status":"failed"})");

}  // namespace

TEST_CASE("failure context names the failed tool call with its arguments and error", "[failure_context]") {
  const json c = failure_context(parse_jsonl(kFailedRun));
  CHECK(c["failed"] == true);
  CHECK(c["fingerprint"]["fingerprint"].get<std::string>().size() == 12);
  CHECK_FALSE(c["fingerprint"]["signals"].empty());
  REQUIRE(c["failed_tool_calls"].size() == 1);
  const json& call = c["failed_tool_calls"][0];
  CHECK(call["tool_name"] == "calendar.search");
  CHECK(call["arguments"] == json{{"day", "Tuesday"}});
  CHECK(call["error"] == "TimeoutError: upstream timed out after 3133ms");
  CHECK(call["seq"] == 3);
  CHECK(call["call_seq"] == 2);
  CHECK(call["span_id"] == "span-a");
  CHECK(call["result"].is_null());
}

TEST_CASE("each failed result is matched with the latest call of its id before it", "[failure_context]") {
  // A call id used twice (each result answers the call just before it), a call id written with
  // an escape, a result with no call, and a call that comes only after its result.
  const std::string run =
      ev(0, "tool_call", R"({"arguments":{"n":1},"call_id":"dup","tool_name":"first"})") +
      ev(1, "tool_result", R"({"call_id":"dup","error":"E1","result":null})") +
      ev(2, "tool_call", R"({"arguments":{"n":2},"call_id":"dup","tool_name":"second"})") +
      ev(3, "tool_result", R"({"call_id":"dup","error":"E2","result":null})") +
      ev(4, "tool_call", R"({"arguments":{},"call_id":"caf\u00e9","tool_name":"escaped"})") +
      ev(5, "tool_result", R"({"call_id":"café","error":"E3","result":null})") +
      ev(6, "tool_result", R"({"call_id":"nobody","error":"E4","result":null})") +
      ev(7, "tool_result", R"({"call_id":"late","error":"E5","result":null})") +
      ev(8, "tool_call", R"({"arguments":{},"call_id":"late","tool_name":"after"})") +
      ev(9, "session_end", R"({"error":"E","status":"failed"})");
  const json c = failure_context(parse_jsonl(run));
  const json& calls = c["failed_tool_calls"];
  REQUIRE(calls.size() == 5);
  CHECK(calls[0]["tool_name"] == "first");
  CHECK(calls[0]["call_seq"] == 0);
  CHECK(calls[1]["tool_name"] == "second");
  CHECK(calls[1]["arguments"] == json{{"n", 2}});
  CHECK(calls[2]["tool_name"] == "escaped");
  CHECK(calls[2]["call_seq"] == 4);
  CHECK(calls[3]["tool_name"].is_null());
  CHECK(calls[3]["call_seq"].is_null());
  CHECK(calls[4]["tool_name"].is_null());
  CHECK(calls[4]["error"] == "E5");
}

TEST_CASE("failure context has the end, the goal checks, the errors and the screenshots", "[failure_context]") {
  const json c = failure_context(parse_jsonl(kFailedRun));
  CHECK(c["end"]["status"] == "failed");
  CHECK(c["end"]["error"] == "RuntimeError: agent selected the wrong day");
  REQUIRE(c["failed_goal_checks"].size() == 1);
  CHECK(c["failed_goal_checks"][0]["mismatches"] == json::array({"selected Wednesday, not Tuesday"}));
  REQUIRE(c["errors"].size() == 1);
  CHECK(c["errors"][0]["error_type"] == "RuntimeError");
  REQUIRE(c["screenshots"].size() == 1);
  CHECK(c["screenshots"][0]["storage_path"] == "artifacts/s/art-1/shot.png");
  CHECK(c["session"]["agent"] == "calendar-agent");
  CHECK(c["omitted"].empty());
}

TEST_CASE("failure context keeps the events before the first failure", "[failure_context]") {
  FailureContextOptions options;
  options.events_before = 2;
  const json c = failure_context(parse_jsonl(kFailedRun), options);
  CHECK(c["first_failure_seq"] == 3);
  const json& before = c["events_before_failure"];
  REQUIRE(before.size() == 3);  // two entries before, then the failure itself
  CHECK(before[0]["seq"] == 1);
  CHECK(before[1]["type"] == "tool_call");
  CHECK(before[2]["failure"] == true);
  CHECK(before[2]["text"].get<std::string>().find("FAILED") != std::string::npos);
}

TEST_CASE("failure context of a passing run says so and lists nothing", "[failure_context]") {
  const std::string passing = ev(0, "user_message", R"({"content":"hi"})") +
                              ev(1, "session_end", R"({"error":null,"status":"completed"})");
  const json c = failure_context(parse_jsonl(passing));
  CHECK(c["failed"] == false);
  CHECK(c["fingerprint"]["fingerprint"].is_null());
  CHECK(c["failed_tool_calls"].empty());
  CHECK(c["first_failure_seq"].is_null());
  CHECK(c["events_before_failure"].empty());
  CHECK(c["end"]["status"] == "completed");
}

TEST_CASE("failure context bounds long strings and long lists", "[failure_context]") {
  std::string run;
  const std::string long_error(100000, 'x');
  for (int i = 0; i < 30; ++i) {
    run += ev(2 * i, "tool_call", R"({"arguments":{},"call_id":"c)" + std::to_string(i) + R"(","tool_name":"t"})");
    run += ev(2 * i + 1, "tool_result", R"({"call_id":"c)" + std::to_string(i) + R"(","error":")" + long_error + R"(","result":null})");
  }
  run += ev(60, "session_end", R"({"error":")" + long_error + R"(","status":"failed"})");
  FailureContextOptions options;
  options.max_items = 5;
  options.bounds.max_string_chars = 100;
  const json c = failure_context(parse_jsonl(run), options);
  REQUIRE(c["failed_tool_calls"].size() == 5);
  CHECK(c["omitted"]["failed_tool_calls"] == 25);
  const std::string error = c["failed_tool_calls"][0]["error"];
  CHECK(error == std::string(100, 'x') + "…[truncated 99900 chars]");
  CHECK(c["end"]["error"].get<std::string>().size() < 200);
  CHECK(c["session"]["end_error"].get<std::string>().size() < 200);
  CHECK(c.dump().size() < 10000);
}

TEST_CASE("bounded json cuts strings by code point, arrays, objects and depth", "[failure_context]") {
  JsonBounds b;
  b.max_string_chars = 3;
  b.max_items = 2;
  b.max_depth = 2;
  CHECK(truncate_text("éééé", 3) == "ééé…[truncated 1 chars]");
  CHECK(truncate_text("abc", 3) == "abc");
  CHECK(bounded(json::array({1, 2, 3, 4}), b) == json::array({1, 2, "…[2 more items]"}));
  CHECK(bounded(json{{"a", 1}, {"b", 2}, {"c", 3}}, b).size() == 3);  // two members and the marker
  CHECK(bounded(json{{"a", {{"b", {{"c", 1}}}}}}, b)["a"]["b"] == "…[nested deeper than 2 levels]");
}

TEST_CASE("a spooled value nlohmann cannot hold is kept as its text", "[failure_context]") {
  const Session s = parse_jsonl(std::string(R"({"payload":{"v":NaN,"s":"\ud800"},"seq":1,"type":"metric"})") + "\n");
  REQUIRE(s.events.size() == 1);
  const json payload = view_to_json(s.events[0].payload);
  CHECK(payload.is_string());
  CHECK(payload.get<std::string>().find("NaN") != std::string::npos);
  CHECK(view_to_json(s.events[0].payload_get("missing")).is_null());
}
