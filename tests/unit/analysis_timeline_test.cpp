// The readable replay (analysis/timeline.hpp): what each event says, times relative to the
// session's start, totals, and the run tree in time order.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/readable_text.hpp"
#include "analysis/timeline.hpp"

using namespace promptetheus::analysis;

namespace {

// An event at `ms` milliseconds after 12:00:00 on 2026-01-02.
std::string ev(int seq, int ms, const std::string& type, const std::string& payload,
               const std::string& span = "", const std::string& parent = "") {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-01-02T12:%02d:%02d.%03d000Z", ms / 60000, (ms / 1000) % 60, ms % 1000);
  std::string s = R"({"payload":)" + payload + R"(,"seq":)" + std::to_string(seq) +
                  R"(,"session_id":"sess-1","timestamp":")" + ts + R"(","type":")" + type + "\"";
  if (!span.empty()) s += R"(,"span_id":")" + span + "\"";
  if (!parent.empty()) s += R"(,"parent_id":")" + parent + "\"";
  return s + "}\n";
}
std::string start(int seq, int ms, const std::string& span, const std::string& name,
                  const std::string& parent = "") {
  return ev(seq, ms, "state_change", R"({"name":"span_start","span_name":")" + name + "\"}", span, parent);
}
std::string end(int seq, int ms, const std::string& span, const std::string& name, const std::string& duration,
                const std::string& parent = "") {
  return ev(seq, ms, "state_change",
            R"({"duration_ms":)" + duration + R"(,"name":"span_end","span_name":")" + name + "\"}", span,
            parent);
}

const std::string kFailedRun =
    ev(0, 0, "state_change",
       R"({"after":{"agent":"calendar-agent","user_goal":"Book Tuesday"},"before":null,"name":"session_started"})") +
    ev(1, 5, "user_message", R"({"content":"Book Tuesday\nplease"})") +
    ev(2, 250, "llm_call", R"({"input_tokens":1200,"latency_ms":850,"model":"gpt-4o-mini","output_tokens":300})") +
    start(3, 1000, "sp1", "search") +
    ev(4, 1001, "tool_call", R"({"arguments":{"day":"Tuesday"},"call_id":"c1","tool_name":"calendar.search"})", "sp1") +
    ev(5, 4002, "tool_result", R"({"call_id":"c1","error":"TimeoutError: upstream timed out","result":null})", "sp1") +
    end(6, 4003, "sp1", "search", "3002.5") +
    ev(7, 4100, "tool_result", R"({"call_id":"unknown","error":null,"result":{"ok":true}})") +
    ev(8, 4200, "goal_check", R"({"mismatches":["selected Wednesday, not Tuesday"],"passed":false})") +
    ev(9, 4300, "session_end", R"({"error":"RuntimeError: wrong day","status":"failed"})");

}  // namespace

TEST_CASE("readable replay: names, results, errors, relative times and totals", "[analysis][timeline]") {
  const Session s = parse_jsonl(kFailedRun, "t");
  const Timeline t = build_timeline(s.events);
  CHECK(render_timeline(t) ==
        "Session sess-1 · agent calendar-agent\n"
        "Goal: Book Tuesday\n"
        "Started 2026-01-02T12:00:00.000000Z\n"
        "Status: failed: RuntimeError: wrong day\n"
        "\n"
        "     +0.000s  [0] state_change session_started agent=calendar-agent goal=\"Book Tuesday\"\n"
        "     +0.005s  [1] user_message Book Tuesday\\nplease\n"
        "     +0.250s  [2] llm_call gpt-4o-mini 1200 in / 300 out tokens, 850 ms, $0.000360\n"
        "     +1.000s  [3] state_change span_start search\n"
        "     +1.001s    [4] tool_call calendar.search {\"day\":\"Tuesday\"}\n"
        "!    +4.002s    [5] tool_result calendar.search FAILED: TimeoutError: upstream timed out\n"
        "     +4.003s  [6] state_change span_end search (3.00 s)\n"
        "     +4.100s  [7] tool_result call unknown -> {\"ok\":true}\n"
        "!    +4.200s  [8] goal_check FAILED: selected Wednesday, not Tuesday\n"
        "!    +4.300s  [9] session_end failed: RuntimeError: wrong day\n"
        "\n"
        "failed · 4.30 s · 10 events · 1 LLM call · 1,500 tokens (1,200 in, 300 out) · $0.000360 · "
        "3 failures\n");

  const SessionOverview& o = t.overview;
  CHECK(o.duration_ms == Approx(4300.0));
  CHECK(o.tool_calls == 1);
  CHECK(o.failed_tool_calls == 1);
  CHECK(o.failed_goal_checks == 1);
  CHECK(o.spans == 1);
  CHECK(o.cost.input_tokens == 1200);
  CHECK(o.cost.output_tokens == 300);

  // As data: each entry carries its event as stored and its readable text.
  const auto j = timeline_json(t);
  CHECK(j["overview"]["status"] == "failed");
  CHECK(j["overview"]["end_error"] == "RuntimeError: wrong day");
  CHECK(j["overview"]["llm_calls"] == 1);
  CHECK(j["entries"].size() == 10);
  CHECK(j["entries"][5]["failure"] == true);
  CHECK(j["entries"][5]["span_id"] == "sp1");
  CHECK(j["entries"][5]["event"]["payload"]["error"] == "TimeoutError: upstream timed out");
  CHECK(j["entries"][5]["offset_ms"] == Approx(4002.0));

  // The waterfall's span: on the time axis, marked failed by its failed tool result.
  REQUIRE(j["spans"].size() == 1);
  CHECK(j["spans"][0]["name"] == "search");
  CHECK(j["spans"][0]["start_ms"] == Approx(1000.0));
  CHECK(j["spans"][0]["end_ms"] == Approx(4003.0));
  CHECK(j["spans"][0]["duration_ms"] == Approx(3002.5));
  CHECK(j["spans"][0]["failed"] == true);
  CHECK(j["spans"][0]["depth"] == 0);
}

TEST_CASE("readable run tree keeps time order within and around spans", "[analysis][timeline]") {
  // Root events before, between and after two top-level spans; a span's own events before and
  // after its child span.
  const Session s = parse_jsonl(
      ev(0, 0, "user_message", R"({"content":"first"})") + start(1, 1, "a", "plan") +
          ev(2, 2, "agent_message", R"({"content":"in plan, before child"})", "a") +
          start(3, 3, "b", "lookup", "a") + ev(4, 4, "metric", R"({"name":"hits","value":3})", "b", "a") +
          end(5, 5, "b", "lookup", "0.25", "a") +
          ev(6, 6, "agent_message", R"({"content":"in plan, after child"})", "a") + end(7, 7, "a", "plan", "6") +
          ev(8, 8, "agent_message", R"({"content":"between spans"})") + start(9, 9, "c", "act") +
          end(10, 10, "c", "act", "1") + ev(11, 11, "session_end", R"({"error":null,"status":"completed"})"),
      "t");
  const Timeline t = build_timeline(s.events);
  REQUIRE(t.spans.size() == 3);
  CHECK(t.spans[1].name == "lookup");
  CHECK(t.spans[1].parent_id == "a");
  CHECK(t.spans[1].depth == 1);
  CHECK_FALSE(t.spans[1].failed);
  const std::string tree = render_timeline_tree(s.events, t);
  CHECK(tree ==
        "Session sess-1\n"
        "Started 2026-01-02T12:00:00.000000Z\n"
        "Status: completed\n"
        "\n"
        "     +0.000s  [0] user_message first\n"
        "              span plan (6.0 ms)\n"
        "     +0.002s    [2] agent_message in plan, before child\n"
        "                span lookup (0.250 ms)\n"
        "     +0.004s      [4] metric hits=3\n"
        "     +0.006s    [6] agent_message in plan, after child\n"
        "     +0.008s  [8] agent_message between spans\n"
        "              span act (1.0 ms)\n"
        "     +0.011s  [11] session_end completed\n"
        "\n"
        "completed · 11.0 ms · 12 events · 0 LLM calls · 0 failures\n");
}

TEST_CASE("readable replay: odd values never throw, long text is cut, deep nesting is walked", "[analysis][timeline]") {
  const std::string long_text(500, 'x');
  const Session odd = parse_jsonl(
      R"({"type":"tool_result","seq":"7","payload":{"call_id":5,"error":{"code":1}}})" "\n"
      R"({"type":7,"payload":[1,2]})" "\n"
      R"({"seq":1,"type":"llm_call","payload":{"model":"unknown-model","input_tokens":NaN}})" "\n"
      R"({"seq":2,"type":"user_message","payload":{"content":")" + long_text + R"("}})" "\n"
      R"({"seq":3,"type":"metric","timestamp":"not a time","payload":{"name":"m","value":Infinity}})" "\n",
      "t");
  const Timeline t = build_timeline(odd.events);
  const std::string text = render_timeline(t);
  CHECK(text.find("tool_result call ? FAILED: {\"code\":1}") != std::string::npos);
  CHECK(text.find(std::string(kReadableTextLimit, 'x') + "…\n") != std::string::npos);
  CHECK(text.find(std::string(kReadableTextLimit + 1, 'x')) == std::string::npos);
  CHECK(text.find("metric m=inf") != std::string::npos);
  CHECK(text.find("cost unknown") != std::string::npos);
  CHECK_FALSE(t.overview.duration_ms.has_value());

  // 20,000 nested spans: both renderers walk them without recursion.
  std::string deep;
  for (int i = 0; i < 20000; ++i) {
    deep += start(i, i, "s" + std::to_string(i), "n", i > 0 ? "s" + std::to_string(i - 1) : "");
  }
  const Session nested = parse_jsonl(deep, "t");
  const Timeline dt = build_timeline(nested.events);
  CHECK(dt.entries.size() == 20000);
  CHECK(dt.entries.back().depth == 19999);
  const std::string tree = render_timeline_tree(nested.events, dt);
  CHECK(tree.find("span n") != std::string::npos);
  CHECK(render_timeline(build_timeline({})) == "(no events)\n");
}

TEST_CASE("timeline entries as text: each event as stored when plain JSON, else its repr", "[analysis][timeline]") {
  const std::string hostile = "</script><img src=x onerror=alert(1)> & \xE2\x80\xA8 \xE2\x80\xA9 Z\\u00fcrich";
  const std::string lines =
      ev(0, 0, "user_message", R"({"content":")" + hostile + R"("})") +
      ev(1, 1, "agent_message", R"({"content":NaN})") +
      ev(2, 2, "agent_message", R"({"content":-Infinity})") +
      ev(3, 3, "agent_message", R"({"content":"lone \ud800 surrogate"})") +
      ev(4, 4, "agent_message", R"({"content":"pair \ud83d\ude00"})") +
      ev(5, 5, "metric", R"({"value":1e400})") +
      ev(6, 6, "metric", R"({"value":1.5e300,"big":123456789012345678901234567890})");
  const Session s = parse_jsonl(lines, "t");
  REQUIRE(s.events.size() == 7);
  const Timeline t = build_timeline(s.events);

  std::string text;
  append_entries_json(text, t, 0, t.entries.size());
  // Nothing in the text can end a <script> element or break a JavaScript string.
  CHECK(text.find('<') == std::string::npos);
  CHECK(text.find('>') == std::string::npos);
  CHECK(text.find('&') == std::string::npos);
  CHECK(text.find("\xE2\x80\xA8") == std::string::npos);
  CHECK(text.find("\xE2\x80\xA9") == std::string::npos);

  const nlohmann::json entries = nlohmann::json::parse(text);
  REQUIRE(entries.size() == 7);
  CHECK(entries[0]["event"]["payload"]["content"] ==
        "</script><img src=x onerror=alert(1)> & \xE2\x80\xA8 \xE2\x80\xA9 Z\xC3\xBCrich");
  CHECK(entries[0]["seq"] == "0");
  CHECK(entries[0]["type"] == "user_message");
  CHECK(entries[0]["offset_ms"] == 0.0);
  CHECK(entries[0]["span_id"].is_null());
  CHECK(entries[0]["failure"] == false);
  // What JSON readers do not all take alike is carried as the Python repr string.
  CHECK(entries[1]["event"].is_string());
  CHECK(entries[1]["event"].get<std::string>().find("'content': nan") != std::string::npos);
  CHECK(entries[2]["event"].get<std::string>().find("'content': -inf") != std::string::npos);
  CHECK(entries[3]["event"].is_string());
  CHECK(entries[4]["event"]["payload"]["content"] == "pair \xF0\x9F\x98\x80");
  CHECK(entries[5]["event"].is_string());
  CHECK(entries[6]["event"].is_object());
  CHECK(entries[6]["offset_ms"] == 6.0);

  // A page is the same entries as the whole, and timeline_json holds the same values.
  std::string page;
  append_entries_json(page, t, 2, 4);
  const nlohmann::json page_entries = nlohmann::json::parse(page);
  REQUIRE(page_entries.size() == 2);
  CHECK(page_entries[0] == entries[2]);
  CHECK(page_entries[1] == entries[3]);
  std::string empty;
  append_entries_json(empty, t, 5, 100);
  CHECK(nlohmann::json::parse(empty).size() == 2);
  empty.clear();
  append_entries_json(empty, t, 9, 100);
  CHECK(empty == "[]");
  CHECK(nlohmann::json::parse(timeline_json(t)["entries"].dump()) == entries);
}

TEST_CASE("the timeline's cost totals are session_cost's over the same llm_calls, whatever their counts",
          "[analysis][timeline]") {
  using nlohmann::json;
  using promptetheus::policy::Price;
  // Counts as integers, floats, strings, huge and negative numbers, NaN, bools and nulls; models
  // priced, unknown, repeated, missing and not strings; a payload that is not an object. NaN and
  // Infinity are not JSON to nlohmann: their reference payloads are written by hand.
  const std::pair<const char*, json> cases[] = {
      {R"({"input_tokens":1200,"model":"gpt-4o-mini","output_tokens":300})", nullptr},
      {R"({"input_tokens":999999999999999999,"model":"gpt-4o-mini","output_tokens":-5})", nullptr},
      {R"({"input_tokens":12345678901234567890123,"model":"gpt-4o","output_tokens":1e3})", nullptr},
      {R"({"input_tokens":"1_000","model":"my-model","output_tokens":" 42 "})", nullptr},
      {R"({"input_tokens":2.9,"model":"MY-MODEL","output_tokens":true})", nullptr},
      {R"({"input_tokens":NaN,"model":7,"output_tokens":null})",
       json{{"input_tokens", std::nan("")}, {"model", 7}, {"output_tokens", nullptr}}},
      {R"({"input_tokens":-Infinity,"output_tokens":"x"})",
       json{{"input_tokens", -std::numeric_limits<double>::infinity()}, {"output_tokens", "x"}}},
      {R"({"input_tokens":0,"model":"claude-3-5-sonnet","output_tokens":18446744073709551615})", nullptr},
      {R"({"input_tokens":-0,"model":"gpt-4o-mini","output_tokens":100})", nullptr},
      {R"("not an object")", nullptr},
  };
  std::string text;
  std::vector<json> events;
  int seq = 0;
  for (const auto& [payload, by_hand] : cases) {
    text += ev(seq++, 0, "llm_call", payload);
    events.push_back(json{{"type", "llm_call"}, {"payload", by_hand.is_null() ? json::parse(payload) : by_hand}});
  }
  const Session s = parse_jsonl(text, "costs");
  const std::map<std::string, Price> custom{{"my-model", {1.0, 2.0}}};
  for (const std::map<std::string, Price>* prices : {static_cast<const std::map<std::string, Price>*>(nullptr), &custom}) {
    INFO((prices ? "custom prices" : "default prices"));
    const promptetheus::policy::SessionCost& cost = build_timeline(s.events, prices, EntryText::none).overview.cost;
    const promptetheus::policy::SessionCost expected = promptetheus::policy::session_cost(events, prices);
    CHECK(cost.llm_calls == 10);
    CHECK(cost.llm_calls == expected.llm_calls);
    CHECK(cost.priced_calls == expected.priced_calls);
    CHECK(cost.input_tokens == expected.input_tokens);
    CHECK(cost.output_tokens == expected.output_tokens);
    CHECK(cost.total_usd == expected.total_usd);
    CHECK(cost.unknown_models == expected.unknown_models);
    if (prices) CHECK(cost.priced_calls == 2);  // "my-model" and "MY-MODEL", lowercased
  }
}
