// Two sessions compared for a person (analysis/compare.hpp): named tools, status, goal checks,
// errors, LLM changes, durations, and the verdict.
#include <catch2/catch.hpp>

#include "analysis/compare.hpp"

using namespace promptetheus::analysis;

namespace {

std::string ev(int seq, const std::string& type, const std::string& payload, const std::string& ts = "") {
  std::string s = R"({"payload":)" + payload + R"(,"seq":)" + std::to_string(seq) +
                  R"(,"session_id":"s","type":")" + type + "\"";
  if (!ts.empty()) s += R"(,"timestamp":")" + ts + "\"";
  return s + "}\n";
}

std::string run(bool search_fails, const std::string& model, int tokens, const std::string& end_ts,
                const std::string& span_ms) {
  return ev(0, "state_change", R"({"after":{"agent":"cal"},"name":"session_started"})", "2026-01-02T00:00:00Z") +
         ev(1, "llm_call", R"({"model":")" + model + R"(","input_tokens":)" + std::to_string(tokens) +
                               R"(,"output_tokens":100})") +
         ev(2, "tool_call", R"({"call_id":"c1","tool_name":"calendar.search"})") +
         ev(3, "tool_result", search_fails ? R"({"call_id":"c1","error":"TimeoutError: slow","result":null})"
                                           : R"({"call_id":"c1","error":null,"result":[1]})") +
         ev(4, "state_change", R"({"duration_ms":)" + span_ms + R"(,"name":"span_end","span_name":"plan"})") +
         ev(5, "goal_check", search_fails ? R"({"mismatches":["wrong day"],"passed":false})"
                                          : R"({"mismatches":[],"passed":true})") +
         (search_fails ? ev(6, "error", R"({"message":"boom"})") : std::string()) +
         ev(7, "session_end", search_fails ? R"({"error":"RuntimeError: wrong day","status":"failed"})"
                                           : R"({"error":null,"status":"completed"})",
            end_ts);
}

}  // namespace

TEST_CASE("compare names what regressed, and the verdict says so", "[analysis][compare]") {
  const Session good = parse_jsonl(run(false, "gpt-4o-mini", 1000, "2026-01-02T00:00:01Z", "100"), "a");
  const Session bad = parse_jsonl(run(true, "gpt-4o", 3000, "2026-01-02T00:00:05Z", "900"), "b");
  const SessionComparison c = compare_sessions(good.events, bad.events);
  CHECK(c.regressed());
  CHECK(render_comparison(c) ==
        "A: s · cal · completed · 1.00 s\n"
        "B: s · cal · failed · 5.00 s\n"
        "\n"
        "! status: completed -> failed\n"
        "~ end error: none -> RuntimeError: wrong day\n"
        "! goal check: passed before, now fails\n"
        "! goal mismatch added: wrong day\n"
        "! tool calendar.search passed before, now fails: TimeoutError: slow\n"
        "! error added: boom\n"
        "~ LLM model: gpt-4o-mini -> gpt-4o\n"
        "~ LLM tokens: 1,100 -> 3,100 (+182%)\n"
        "~ estimated cost: $0.000210 -> $0.008500\n"
        "~ duration: 1.00 s -> 5.00 s\n"
        "~ span plan duration: 100.0 ms -> 900.0 ms\n"
        "\n"
        "Verdict: REGRESSED: status, goal check, goal mismatch, tool calendar.search, error\n");

  // The other way round, the same differences are fixes.
  const SessionComparison back = compare_sessions(bad.events, good.events);
  CHECK_FALSE(back.regressed());
  CHECK(back.verdict() == "changed, no regression");
  const auto j = comparison_json(back);
  CHECK(j["regressed"] == false);
  CHECK(j["changes"][0]["kind"] == "fixed");
  CHECK(j["changes"][0]["text"] == "status: failed -> completed");
  CHECK(j["a"]["status"] == "failed");

  const SessionComparison same = compare_sessions(good.events, good.events);
  CHECK(same.lines.empty());
  CHECK(same.verdict() == "no differences");
}

TEST_CASE("compare: tools added, removed, called more often, and odd sessions", "[analysis][compare]") {
  const Session a = parse_jsonl(ev(0, "tool_call", R"({"call_id":"1","tool_name":"old"})") +
                                    ev(1, "tool_call", R"({"call_id":"2","tool_name":"both"})"),
                                "a");
  const Session b = parse_jsonl(ev(0, "tool_call", R"({"call_id":"1","tool_name":"both"})") +
                                    ev(1, "tool_call", R"({"call_id":"2","tool_name":"both"})") +
                                    ev(2, "tool_call", R"({"call_id":"3","tool_name":"new"})") +
                                    ev(3, "tool_result", R"({"call_id":"3","error":"E"})"),
                                "b");
  const SessionComparison c = compare_sessions(a.events, b.events);
  CHECK(render_comparison(c) ==
        "A: s · no session_end\n"
        "B: s · no session_end\n"
        "\n"
        "- tool old no longer called\n"
        "~ tool both called 1 -> 2 times\n"
        "! tool new added: called 1 time, 1 failure: E\n"
        "\n"
        "Verdict: REGRESSED: tool new\n");
  const Session odd = parse_jsonl(std::string("[1]\n") + R"({"type":"tool_result","payload":5})" "\n", "o");
  CHECK_NOTHROW(compare_sessions(odd.events, a.events));
}
