// Trace forest, renderers and diff (contract §6.12, §7.2, §7.3).
#include <catch2/catch.hpp>

#include "analysis/diff.hpp"
#include "analysis/replay.hpp"
#include "analysis/trace_tree.hpp"

using namespace promptetheus::analysis;

namespace {

std::string ev(int seq, const std::string& type, const std::string& payload, const std::string& span = "",
               const std::string& parent = "") {
  std::string s = R"({"payload":)" + payload + R"(,"seq":)" + std::to_string(seq) + R"(,"type":")" + type + "\"";
  if (!span.empty()) s += R"(,"span_id":")" + span + "\"";
  if (!parent.empty()) s += R"(,"parent_id":")" + parent + "\"";
  return s + "}\n";
}
std::string start(int seq, const std::string& span, const std::string& name, const std::string& parent = "") {
  return ev(seq, "state_change", R"({"name":"span_start","span_name":")" + name + "\"}", span, parent);
}
std::string end(int seq, const std::string& span, const std::string& name, const std::string& duration = "0",
                const std::string& parent = "") {
  return ev(seq, "state_change", R"({"duration_ms":)" + duration + R"(,"name":"span_end","span_name":")" + name + "\"}",
            span, parent);
}

}  // namespace

TEST_CASE("flat replay indents inside span markers and sorts by seq", "[analysis][replay]") {
  const Session s = parse_jsonl(ev(2, "tool_call", R"({"tool_name":"t"})", "s1") + ev(0, "user_message", R"({"content":"hi"})") +
                                    start(1, "s1", "outer") + end(3, "s1", "outer") +
                                    ev(4, "metric", R"({"name":"m","value":0.1})") + R"({"type":"error"})" "\n",
                                "t");
  CHECK(render_flat(s.events) ==
        "[0] user_message content='hi'\n"
        "[?] error\n"  // a missing seq sorts as 0, after the earlier seq 0 (stable)
        "[1] state_change name='span_start'\n"
        "  [2] tool_call tool_name='t'\n"
        "[3] state_change name='span_end'\n"
        "[4] metric name='m' value=0.1\n");
  CHECK(render_flat(parse_jsonl("\n[1]\n", "t").events) == "(no events)\n");
}

TEST_CASE("tree replay nests spans, sorts children and hides markers", "[analysis][tree]") {
  const Session s = parse_jsonl(ev(0, "user_message", R"({"content":"q"})") + start(1, "sa", "outer") +
                                    ev(2, "agent_message", R"({"content":"in"})", "sa") + start(3, "sb", "inner", "sa") +
                                    ev(4, "score", R"({"name":"q","value":true})", "sb", "sa") +
                                    end(5, "sb", "inner", "12.5", "sa") + end(6, "sa", "outer") +
                                    ev(7, "state_change", R"({"name":"span_end"})") +
                                    ev(8, "session_end", R"({"status":"completed"})"),
                                "t");
  CHECK(render_tree(build_trace_forest(s.events)) ==
        "[0] user_message content='q'\n"
        "[8] session_end status='completed'\n"
        "outer span=sa duration_ms=0.0\n"
        "  [2] agent_message content='in'\n"
        "  inner span=sb duration_ms=12.5\n"
        "    [4] score name='q' value=True");
}

TEST_CASE("tree building breaks parent cycles and survives odd fields", "[analysis][tree]") {
  // a -> b -> a: a (created first) becomes the root, b its child. A self-parent is a root.
  const Session s = parse_jsonl(ev(0, "tool_call", R"({"tool_name":"x"})", "a", "b") +
                                    ev(1, "tool_call", R"({"tool_name":"y"})", "b", "a") +
                                    ev(2, "tool_call", R"({"tool_name":"z"})", "c", "c") +
                                    R"({"seq":"7","type":"retrieval","span_id":"c","payload":"nope"})" "\n"
                                    R"({"seq":true,"type":5,"span_id":"","payload":{}})" "\n",
                                "t");
  const TraceForest forest = build_trace_forest(s.events);
  CHECK(render_tree(forest) ==
        "span span=a\n"
        "  [0] tool_call tool_name='x'\n"
        "  span span=b\n"
        "    [1] tool_call tool_name='y'\n"
        "span span=c\n"
        "  [2] tool_call tool_name='z'\n"
        "  [7] retrieval\n"
        "[True] 5");  // a bool seq falls back to the index (4), so the root sorts last
  CHECK(build_trace_forest({}).empty());
}

TEST_CASE("a deep chain of spans renders without recursion", "[analysis][tree]") {
  std::string text;
  const int depth = 20000;
  for (int i = 0; i < depth; ++i) {
    text += ev(i, "tool_call", R"({"tool_name":"t"})", "s" + std::to_string(i), i ? "s" + std::to_string(i - 1) : "");
  }
  const Session s = parse_jsonl(text, "t");
  const TraceForest forest = build_trace_forest(s.events);
  REQUIRE(forest.roots.size() == 1);
  const std::string out = render_tree(forest);
  CHECK(out.size() > static_cast<std::size_t>(depth) * 20);
}

TEST_CASE("diff reports regressions, fixes and added/removed steps", "[analysis][diff]") {
  const std::string common = ev(0, "tool_call", R"({"tool_name":"search"})") + ev(1, "tool_result", R"({"call_id":"c"})");
  const Session pass = parse_jsonl(common + ev(2, "goal_check", R"({"passed":true})"), "p");
  const Session fail = parse_jsonl(ev(0, "tool_call", R"({"tool_name":"search"})") +
                                       ev(1, "tool_result", R"({"call_id":"c","error":"boom"})") +
                                       ev(2, "goal_check", R"({"passed":false})") +
                                       ev(3, "error", R"({"message":"calendar API timeout at 0x7f3a2b1c in /srv/app"})"),
                                   "f");
  const SessionDiff d = diff_sessions(pass.events, fail.events);
  CHECK(d.regressed);
  CHECK(d.summary() ==
        "+ added error calendar API timeout at 0x7f3a2b1c in /s\n"
        "! regressed tool_result tool passed before, now fails\n"
        "! regressed goal_check passed before, now fails");
  const SessionDiff back = diff_sessions(fail.events, pass.events);
  CHECK_FALSE(back.regressed);
  CHECK(back.summary() ==
        "- removed error calendar API timeout at 0x7f3a2b1c in /s\n"
        "~ changed tool_result tool failed before, now passes\n"
        "~ changed goal_check failed before, now passes");
  CHECK(diff_sessions(pass.events, pass.events).empty());
  CHECK(back.changes().size() == 3);
}

TEST_CASE("diff orders root events before span contents and compares span_end durations", "[analysis][diff]") {
  const Session a = parse_jsonl(ev(0, "user_message", R"({"content":"go"})") + start(1, "s", "w") +
                                    ev(2, "tool_call", R"({"tool_name":"in_span"})", "s") + end(3, "s", "w") +
                                    ev(4, "tool_call", R"({"tool_name":"root"})"),
                                "a");
  std::vector<std::string> order;
  for (const Step& st : extract_steps(a.events)) order.push_back(st.label);
  CHECK(order == std::vector<std::string>{"tool_call root", "tool_call in_span"});

  const Session slow = parse_jsonl(ev(0, "span_end", R"({"name":"load","duration_ms":1000})"), "s");
  const Session fast = parse_jsonl(ev(0, "span_end", R"({"name":"load","duration_ms":100.9})"), "f");
  const SessionDiff d = diff_sessions(slow.events, fast.events);
  CHECK(d.summary() == "~ changed span load duration 1000ms -> 100ms");
}
