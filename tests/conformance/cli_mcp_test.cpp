// `promptetheus mcp`: the stdio MCP server run as a client runs it (the built binary, requests on
// its stdin, one JSON-RPC response per line on its stdout), over a spool written here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/dev_server_process.hpp"
#include "conformance/subprocess.hpp"

using json = nlohmann::json;
using promptetheus::test::DevServer;
using promptetheus::test::ProcessResult;
using promptetheus::test::run_process;
using promptetheus::test::run_process_with_input;
using promptetheus::test::TempDir;

namespace {

const std::string kCli = PROMPTETHEUS_CLI_PATH;
const std::string kPublicSpool = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/spool";

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A spool with a passing run (pass_full) and failing ones (fail_exc: a timed-out tool call, a
// failed goal check, a failed end; errors).
struct Spool {
  TempDir dir;
  Spool() {
    for (const char* name : {"pass_full", "fail_exc", "errors", "nested"}) {
      copy_file(kPublicSpool + "/" + name + ".jsonl", dir.path() + "/" + name + ".jsonl");
    }
  }
};

std::string request(int id, const std::string& method, const json& params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump() + "\n";
}

std::string initialize_request(int id = 0, const std::string& version = "2025-06-18") {
  return request(id, "initialize",
                 {{"protocolVersion", version}, {"capabilities", json::object()},
                  {"clientInfo", {{"name", "conformance"}, {"version", "1"}}}}) +
         R"({"jsonrpc":"2.0","method":"notifications/initialized"})" "\n";
}

std::string call(int id, const std::string& tool, const json& arguments = json::object()) {
  return request(id, "tools/call", {{"name", tool}, {"arguments", arguments}});
}

struct Run {
  ProcessResult process;
  std::vector<json> responses;  // in order
  std::vector<std::string> lines;

  const json& by_id(const json& id) const {
    for (const json& r : responses) {
      if (r.contains("id") && r["id"] == id) return r;
    }
    FAIL("no response with id " << id.dump() << "; stdout:\n" << process.out.substr(0, 2000));
    static const json none;
    return none;
  }
  // The structured result of a tool call (checked against its text content).
  json tool_value(int id) const {
    const json& r = by_id(id);
    REQUIRE(r.contains("result"));
    const json& result = r["result"];
    REQUIRE(result["content"].size() == 1);
    CHECK(result["content"][0]["type"] == "text");
    const json from_text = json::parse(result["content"][0]["text"].get<std::string>());
    if (result.contains("isError")) {
      CHECK_FALSE(result.contains("structuredContent"));  // it would not match the output schema
      return from_text;
    }
    CHECK(from_text == result["structuredContent"]);
    return result["structuredContent"];
  }
};

Run serve(const std::string& input, const std::vector<std::string>& args) {
  Run run;
  run.process = run_process_with_input(kCli, args, "", input, {"PROMPTETHEUS_API_URL=http://127.0.0.1:9"});
  std::size_t start = 0;
  while (start < run.process.out.size()) {
    const std::size_t end = run.process.out.find('\n', start);
    REQUIRE(end != std::string::npos);  // every response ends with a newline
    run.lines.push_back(run.process.out.substr(start, end - start));
    run.responses.push_back(json::parse(run.lines.back()));  // stdout carries JSON-RPC only
    start = end + 1;
  }
  return run;
}

Run serve_spool(const Spool& spool, const std::string& input) { return serve(input, {"mcp", "--dir", spool.dir.path()}); }

void check_well_formed(const json& r) {
  REQUIRE(r.is_object());
  CHECK(r["jsonrpc"] == "2.0");
  CHECK(r.contains("id"));
  CHECK(r.contains("result") != r.contains("error"));
  if (r.contains("error")) {
    CHECK(r["error"]["code"].is_number_integer());
    CHECK(r["error"]["message"].is_string());
  }
}

}  // namespace

TEST_CASE("mcp initialize answers the requested version and says who it is", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request(1, "2025-06-18") + request(2, "ping"));
  CHECK(run.process.exit_code == 0);
  REQUIRE(run.responses.size() == 2);  // the initialized notification is not answered
  const json& result = run.by_id(1)["result"];
  CHECK(result["protocolVersion"] == "2025-06-18");
  CHECK(result["serverInfo"]["name"] == "promptetheus");
  CHECK_FALSE(result["serverInfo"]["version"].get<std::string>().empty());
  CHECK(result["capabilities"] == json{{"tools", {{"listChanged", false}}}});
  CHECK(result["instructions"].get<std::string>().find("get_failure_context") != std::string::npos);
  CHECK(run.by_id(2)["result"] == json::object());
}

TEST_CASE("mcp initialize negotiates older, newer, unknown and missing versions", "[mcp]") {
  Spool spool;
  for (const char* v : {"2024-11-05", "2025-03-26", "2025-11-25"}) {
    const Run run = serve_spool(spool, initialize_request(1, v));
    CHECK(run.by_id(1)["result"]["protocolVersion"] == v);
  }
  const Run unknown = serve_spool(spool, initialize_request(1, "1999-01-01"));
  CHECK(unknown.by_id(1)["result"]["protocolVersion"] == "2025-11-25");
  const Run missing = serve_spool(spool, request(1, "initialize", json::object()));
  CHECK(missing.by_id(1)["result"]["protocolVersion"] == "2025-11-25");
}

TEST_CASE("mcp tools/list describes the seven tools with schemas", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request(0, "2025-06-18") + request(1, "tools/list"));
  const json& tools = run.by_id(1)["result"]["tools"];
  std::set<std::string> names;
  for (const json& t : tools) {
    names.insert(t["name"].get<std::string>());
    CHECK(t["inputSchema"]["type"] == "object");
    CHECK(t["outputSchema"]["type"] == "object");
    CHECK_FALSE(t["description"].get<std::string>().empty());
    CHECK_FALSE(t["title"].get<std::string>().empty());
  }
  CHECK(names == std::set<std::string>{"list_sessions", "get_session", "get_events", "get_failure_context",
                                       "diff_sessions", "search_events", "list_failures"});
  // 2025-03-26 has neither outputSchema nor structuredContent.
  const Run old = serve_spool(spool, initialize_request(0, "2025-03-26") + request(1, "tools/list") +
                                         call(2, "list_sessions"));
  for (const json& t : old.by_id(1)["result"]["tools"]) CHECK_FALSE(t.contains("outputSchema"));
  const json& result = old.by_id(2)["result"];
  CHECK_FALSE(result.contains("structuredContent"));
  CHECK(json::parse(result["content"][0]["text"].get<std::string>())["sessions"].size() == 4);
}

TEST_CASE("mcp list_sessions lists newest first with filters and pages", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() + call(1, "list_sessions") +
                                         call(2, "list_sessions", {{"status", "failed"}}) +
                                         call(3, "list_sessions", {{"limit", 2}}) +
                                         call(4, "list_sessions", {{"limit", 2}, {"cursor", "2"}}) +
                                         call(5, "list_sessions", {{"text", "WRONG DAY"}}) +
                                         call(6, "list_sessions", {{"since", "2999-01-01T00:00:00Z"}}));
  const json all = run.tool_value(1);
  CHECK(all["total"] == 4);
  REQUIRE(all["sessions"].size() == 4);
  for (std::size_t i = 1; i < 4; ++i) {
    CHECK(all["sessions"][i - 1]["started_at"].get<std::string>() >= all["sessions"][i]["started_at"].get<std::string>());
  }
  std::set<std::string> ids;
  for (const json& s : all["sessions"]) {
    ids.insert(s["id"].get<std::string>());
    CHECK(s.contains("status"));
    CHECK(s.contains("agent"));
    CHECK(s["events"].is_number());
    CHECK(s.contains("duration_ms"));
    CHECK(s["label"].is_string());
  }
  CHECK(ids == std::set<std::string>{"pass_full", "fail_exc", "errors", "nested"});
  const json failed = run.tool_value(2);
  CHECK_FALSE(failed["sessions"].empty());
  for (const json& s : failed["sessions"]) CHECK(s["status"] == "failed");
  const json first = run.tool_value(3), second = run.tool_value(4);
  CHECK(first["sessions"].size() == 2);
  CHECK(first["next_cursor"] == "2");
  CHECK(second["sessions"].size() == 2);
  CHECK(second["next_cursor"].is_null());
  CHECK(second["sessions"][0]["id"] != first["sessions"][0]["id"]);
  const json wrong_day = run.tool_value(5);
  REQUIRE_FALSE(wrong_day["sessions"].empty());
  bool has_fail_exc = false;
  for (const json& s : wrong_day["sessions"]) has_fail_exc |= s["id"] == "fail_exc";
  CHECK(has_fail_exc);
  CHECK(run.tool_value(6)["sessions"].empty());
}

TEST_CASE("mcp get_failure_context names the failing tool and its error", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() + call(1, "get_failure_context", {{"session_id", "fail_exc"}}) +
                                         call(2, "get_failure_context", {{"run_id", "fail_"}}) +
                                         call(3, "get_failure_context"));
  const json c = run.tool_value(1);
  CHECK(c["failed"] == true);
  CHECK(c["fingerprint"]["fingerprint"].get<std::string>().size() == 12);
  REQUIRE(c["failed_tool_calls"].size() == 1);
  CHECK(c["failed_tool_calls"][0]["tool_name"] == "calendar.search");
  CHECK(c["failed_tool_calls"][0]["arguments"] == json{{"day", "Tuesday"}});
  CHECK(c["failed_tool_calls"][0]["error"] == "TimeoutError: upstream timed out after 3000ms");
  CHECK(c["end"]["error"] == "RuntimeError: agent selected the wrong day");
  CHECK(c["failed_goal_checks"][0]["mismatches"][0] == "selected Wednesday, not Tuesday");
  CHECK(c["first_failure_seq"] == 4);
  CHECK_FALSE(c["events_before_failure"].empty());
  CHECK(run.tool_value(2)["session_id"] == "fail_"); // an id prefix is accepted
  CHECK(run.tool_value(2)["failed_tool_calls"][0]["tool_name"] == "calendar.search");
  const json newest = run.tool_value(3);
  CHECK(newest["chosen_as_newest_failed"] == true);
  CHECK(newest["failed"] == true);
}

TEST_CASE("mcp get_session pages the readable timeline and has the run tree", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() + call(1, "get_session", {{"session_id", "fail_exc"}}) +
                                         call(2, "get_session", {{"session_id", "fail_exc"}, {"offset", 3}, {"limit", 2}}) +
                                         call(3, "get_session", {{"session_id", spool.dir.path() + "/nested.jsonl"}}));
  const json s = run.tool_value(1);
  CHECK(s["total_entries"] == 11);
  CHECK(s["timeline"].size() == 11);
  CHECK(s["next_offset"].is_null());
  CHECK(s["overview"]["status"] == "failed");
  CHECK(s["summary"].get<std::string>().find("failed") != std::string::npos);
  CHECK(s["run_tree"].get<std::string>().find("search") != std::string::npos);
  bool marked = false;
  for (const json& e : s["timeline"]) marked |= e["failure"] == true && e["text"].get<std::string>().find("FAILED") != std::string::npos;
  CHECK(marked);
  const json page = run.tool_value(2);
  REQUIRE(page["timeline"].size() == 2);
  CHECK(page["timeline"][0]["seq"] == 3);
  CHECK(page["next_offset"] == 5);
  CHECK(run.tool_value(3)["source"].get<std::string>().find("nested.jsonl") != std::string::npos);
}

TEST_CASE("mcp get_events filters by type, span and seq and pages", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() +
                                         call(1, "get_events", {{"session_id", "fail_exc"}, {"type", "tool_result"}}) +
                                         call(2, "get_events", {{"session_id", "fail_exc"}, {"seq_from", 2}, {"seq_to", 5}}) +
                                         call(3, "get_events", {{"session_id", "fail_exc"}, {"span_id", "span_f2ac22fc831a4f7d844bbdfcc47c61e5"}}) +
                                         call(4, "get_events", {{"session_id", "fail_exc"}, {"limit", 4}, {"type", json::array({"state_change", "error"})}}));
  const json results = run.tool_value(1);
  REQUIRE(results["events"].size() == 1);
  CHECK(results["events"][0]["payload"]["error"] == "TimeoutError: upstream timed out after 3000ms");
  const json range = run.tool_value(2);
  REQUIRE(range["events"].size() == 4);
  CHECK(range["events"][0]["seq"] == 2);
  CHECK(range["events"][3]["seq"] == 5);
  CHECK(run.tool_value(3)["events"].size() == 4);
  const json page = run.tool_value(4);
  CHECK(page["total_matching"] == 4);
  CHECK(page["events"].size() == 4);
}

TEST_CASE("mcp diff_sessions gives the readable diff and a verdict", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() +
                                         call(1, "diff_sessions", {{"session_a", "pass_full"}, {"session_b", "fail_exc"}}) +
                                         call(2, "diff_sessions", {{"session_a", "pass_full"}, {"session_b", "pass_full"}}));
  const json d = run.tool_value(1);
  CHECK(d["regressed"] == true);
  CHECK(d["verdict"].get<std::string>().rfind("REGRESSED", 0) == 0);
  REQUIRE_FALSE(d["diff"].empty());
  CHECK(d["diff"].back().get<std::string>().rfind("Verdict: ", 0) == 0);
  CHECK_FALSE(d["changes"].empty());
  CHECK(run.tool_value(2)["verdict"] == "no differences");
}

TEST_CASE("mcp search_events finds payload text case-insensitively with snippets", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() + call(1, "search_events", {{"query", "UPSTREAM TIMED OUT"}}) +
                                         call(2, "search_events", {{"query", "tuesday"}, {"limit", 1}}) +
                                         call(3, "search_events", {{"query", "no such text anywhere"}}));
  const json hits = run.tool_value(1);
  REQUIRE_FALSE(hits["hits"].empty());
  bool found = false;
  for (const json& h : hits["hits"]) {
    if (h["session_id"] == "fail_exc") {
      found = true;
      CHECK(h["seq"] == 4);
      CHECK(h["type"] == "tool_result");
      CHECK(h["snippet"].get<std::string>().find("upstream timed out") != std::string::npos);
    }
  }
  CHECK(found);
  const json one = run.tool_value(2);
  CHECK(one["hits"].size() == 1);
  CHECK(one["next_cursor"] == "1");
  CHECK(run.tool_value(3)["hits"].empty());
}

TEST_CASE("mcp list_failures groups failed sessions by fingerprint", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() + call(1, "list_failures"));
  const json f = run.tool_value(1);
  REQUIRE_FALSE(f["failures"].empty());
  std::size_t sessions = 0;
  bool has_fail_exc = false;
  for (const json& g : f["failures"]) {
    CHECK(g["fingerprint"].get<std::string>().size() == 12);
    CHECK(g["count"].get<int>() >= 1);
    CHECK(g.contains("first_seen"));
    CHECK(g.contains("last_seen"));
    CHECK(g["agents"].is_array());
    sessions += g["count"].get<std::size_t>();
    for (const json& id : g["sessions"]) has_fail_exc |= id == "fail_exc";
  }
  CHECK(has_fail_exc);
  CHECK(sessions <= 4);
}

TEST_CASE("mcp tool errors: missing session, bad argument types, unreadable spool", "[mcp]") {
  Spool spool;
  const Run run = serve_spool(spool, initialize_request() + call(1, "get_session", {{"session_id", "nope"}}) +
                                         call(2, "get_session", {{"session_id", 42}}) +
                                         call(3, "list_sessions", {{"limit", "ten"}}) +
                                         call(4, "get_events", {{"session_id", "fail_exc"}, {"type", json::array({1})}}) +
                                         call(5, "diff_sessions", {{"session_a", "pass_full"}}) +
                                         call(6, "list_sessions", {{"cursor", "abc"}}) +
                                         call(7, "list_sessions", {{"since", "yesterday"}}));
  for (int id = 1; id <= 7; ++id) {
    const json& result = run.by_id(id)["result"];
    CHECK(result["isError"] == true);
    const json value = json::parse(result["content"][0]["text"].get<std::string>());
    CHECK_FALSE(value["error"].get<std::string>().empty());
  }
  CHECK(run.tool_value(1)["error"].get<std::string>().find("nope") != std::string::npos);
  CHECK(run.tool_value(2)["error"].get<std::string>().find("session_id") != std::string::npos);
  CHECK(run.tool_value(3)["error"].get<std::string>().find("limit") != std::string::npos);

  TempDir not_a_dir;
  write_file(not_a_dir.path() + "/file", "x");
  const Run bad = serve(initialize_request() + call(1, "list_sessions") + call(2, "list_failures"),
                        {"mcp", "--dir", not_a_dir.path() + "/file"});
  CHECK(bad.by_id(1)["result"]["isError"] == true);
  CHECK(bad.by_id(2)["result"]["isError"] == true);
  CHECK(bad.process.exit_code == 0);
}

TEST_CASE("mcp protocol errors: parse error, invalid requests, unknown method and tool", "[mcp]") {
  Spool spool;
  const std::string input = std::string("{not json\n") +                                 // -32700
                            "[1,2]\n" +                                                  // batch
                            "\"text\"\n" +                                               // not an object
                            R"({"jsonrpc":"1.0","id":3,"method":"ping"})" "\n" +          // wrong version
                            R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})" "\n" +    // bad id type
                            R"({"jsonrpc":"2.0","id":5,"method":"no/such"})" "\n" +
                            call(6, "no_such_tool") +
                            R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_sessions","arguments":[1]}})" "\n" +
                            R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"arguments":{}}})" "\n" +
                            R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})" "\n" +
                            "\n" + request(9, "ping");
  const Run run = serve_spool(spool, input);
  CHECK(run.process.exit_code == 0);
  REQUIRE(run.responses.size() == 10);
  for (const json& r : run.responses) check_well_formed(r);
  CHECK(run.responses[0]["error"]["code"] == -32700);
  CHECK(run.responses[0]["id"].is_null());
  CHECK(run.responses[1]["error"]["code"] == -32600);
  CHECK(run.responses[2]["error"]["code"] == -32600);
  CHECK(run.by_id(3)["error"]["code"] == -32600);
  CHECK(run.responses[4]["error"]["code"] == -32600);
  CHECK(run.responses[4]["id"].is_null());
  CHECK(run.by_id(5)["error"]["code"] == -32601);
  CHECK(run.by_id(6)["error"]["code"] == -32602);
  CHECK(run.by_id(6)["error"]["message"].get<std::string>().find("no_such_tool") != std::string::npos);
  CHECK(run.by_id(7)["error"]["code"] == -32602);
  CHECK(run.by_id(8)["error"]["code"] == -32602);
  CHECK(run.by_id(9)["result"] == json::object());
}

TEST_CASE("mcp answers a 10 MB request line with -32600 and keeps serving", "[mcp]") {
  Spool spool;
  const std::string huge = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":")" + std::string(10 << 20, 'a') + "\"}}\n";
  const Run run = serve_spool(spool, initialize_request(0) + huge + request(2, "ping"));
  CHECK(run.process.exit_code == 0);
  REQUIRE(run.responses.size() == 3);
  CHECK(run.responses[1]["error"]["code"] == -32600);
  CHECK(run.responses[1]["error"]["message"].get<std::string>().find("too large") != std::string::npos);
  CHECK(run.by_id(2)["result"] == json::object());
}

TEST_CASE("mcp exits 0 at end of input, also in the middle of a request", "[mcp]") {
  Spool spool;
  const Run partial = serve_spool(spool, request(1, "ping") + R"({"jsonrpc":"2.0","id":2,"meth)");
  CHECK(partial.process.exit_code == 0);
  REQUIRE(partial.responses.size() == 1);
  CHECK(partial.by_id(1)["result"] == json::object());
  // A complete last message without its newline is still answered.
  const Run unterminated = serve_spool(spool, request(1, "ping") + R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  CHECK(unterminated.responses.size() == 2);
  const Run empty = serve_spool(spool, "");
  CHECK(empty.process.exit_code == 0);
  CHECK(empty.process.out.empty());
}

TEST_CASE("mcp output stays valid and bounded on a hostile session", "[mcp]") {
  Spool spool;
  const std::string big(1 << 20, 'B');
  auto line = [](int seq, const std::string& type, const std::string& payload) {
    return R"({"payload":)" + payload + R"(,"seq":)" + std::to_string(seq) +
           R"(,"session_id":"hostile","timestamp":"2026-11-22T10:00:0)" + std::to_string(seq) + R"(.000000Z","type":")" +
           type + "\"}\n";
  };
  std::string session =
      line(0, "user_message", R"({"content":"<img src=x onerror=alert(1)></script><script>alert(2)</script>"})") +
      line(1, "tool_call", R"({"arguments":{"blob":")" + big + R"("},"call_id":"c1","tool_name":"</script>"})") +
      line(2, "tool_result", R"({"call_id":"c1","error":"ctrl \u0000\u0001\u001b[31m\u2028 \ud800 lone","result":null})") +
      "{\"payload\":{\"content\":\"bad \xff\xfe utf8\"},\"seq\":3,\"type\":\"agent_message\"}\n" +
      line(4, "metric", R"({"name":"x","value":NaN})") +
      line(5, "session_end", R"({"error":")" + big + R"(","status":"failed"})");
  write_file(spool.dir.path() + "/hostile.jsonl", session);
  const Run run = serve_spool(spool, initialize_request() + call(1, "get_failure_context", {{"session_id", "hostile"}}) +
                                         call(2, "get_session", {{"session_id", "hostile"}}) +
                                         call(3, "get_events", {{"session_id", "hostile"}}) +
                                         call(4, "search_events", {{"query", "onerror"}}) +
                                         call(5, "list_sessions") + call(6, "list_failures") +
                                         call(7, "search_events", {{"query", "BBBB"}}));
  CHECK(run.process.exit_code == 0);
  REQUIRE(run.responses.size() == 8);  // parsed above: every line is valid JSON
  for (const std::string& l : run.lines) CHECK(l.size() < 200000);  // a 1 MB string is cut
  const json c = run.tool_value(1);
  CHECK(c["failed_tool_calls"][0]["tool_name"] == "</script>");
  CHECK(c["failed_tool_calls"][0]["arguments"]["blob"].get<std::string>().find("…[truncated ") != std::string::npos);
  CHECK(c["end"]["error"].get<std::string>().find("…[truncated ") != std::string::npos);
  const json events = run.tool_value(3);
  CHECK(events["events"].size() == 5);  // the line with invalid UTF-8 is skipped as malformed
  CHECK(run.tool_value(2)["read"]["malformed"] == 1);
  CHECK(run.tool_value(4)["hits"][0]["snippet"].get<std::string>().find("onerror") != std::string::npos);
  for (int id = 5; id <= 7; ++id) CHECK_FALSE(run.by_id(id)["result"].contains("isError"));
}

TEST_CASE("mcp fuzz: mutated and truncated messages each get one well-formed answer", "[mcp]") {
  Spool spool;
  const std::vector<std::string> seeds = {
      initialize_request(1),
      request(2, "tools/list"),
      call(3, "list_sessions", {{"limit", 3}}),
      call(4, "get_failure_context", {{"session_id", "fail_exc"}}),
      call(5, "get_events", {{"session_id", "fail_exc"}, {"type", "error"}}),
      call(6, "search_events", {{"query", "tuesday"}}),
      call(7, "diff_sessions", {{"session_a", "pass_full"}, {"session_b", "fail_exc"}}),
      request(8, "ping"),
  };
  const std::string alphabet = "{}[]\":,0123456789abcdefghijklmnopqrstuvwxyz-_.\\ \t\x01\xff\xc3";
  std::mt19937 rng(20261202);
  std::string input;
  std::size_t lines = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = seeds[rng() % seeds.size()];
    m.pop_back();  // the newline
    for (int k = 0, edits = static_cast<int>(rng() % 4); k < edits && !m.empty(); ++k) {
      const std::size_t at = rng() % m.size();
      switch (rng() % 4) {
        case 0: m[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: m.erase(at, 1 + rng() % 8); break;
        case 2: m.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        default: m.resize(at); break;
      }
    }
    std::replace(m.begin(), m.end(), '\n', ' ');
    input += m + "\n";
    ++lines;
  }
  const Run run = serve_spool(spool, input);
  CHECK(run.process.exit_code == 0);
  CHECK(run.process.signal == 0);
  for (const json& r : run.responses) check_well_formed(r);
  // Every line that parses as a request with an id is answered exactly once, in order.
  std::size_t expected = 0;
  std::size_t at = 0;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < lines; ++i) {
    const std::size_t end = input.find('\n', begin);
    const std::string line = input.substr(begin, end - begin);
    begin = end + 1;
    const json m = json::parse(line, nullptr, false);
    if (m.is_discarded()) {
      if (line.find_first_not_of(" \t\r") != std::string::npos) ++expected;  // a parse error, id null
      continue;
    }
    const bool notification = m.is_object() && !m.contains("id") && m.contains("method");
    const bool client_response = m.is_object() && !m.contains("method") && (m.contains("result") || m.contains("error"));
    if (notification || client_response) continue;
    ++expected;
    if (m.is_object() && m.contains("id") && (m["id"].is_string() || m["id"].is_number()) && at < run.responses.size()) {
      // The answer at this position carries this id (or null for an invalid request).
      const json& id = run.responses[expected - 1]["id"];
      CHECK((id == m["id"] || id.is_null()));
    }
    at = expected;
  }
  CHECK(run.responses.size() == expected);
  // A quarter of the messages are left whole (and some edits keep a message valid), so the tools
  // themselves run as well.
  std::size_t results = 0;
  for (const json& r : run.responses) results += r.contains("result");
  CHECK(results >= 600);
}

TEST_CASE("mcp reads the runs of a server with --api", "[mcp]") {
  Spool spool;
  TempDir work;
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());
  REQUIRE(run_process(kCli, {"spool", "replay", "--dir", spool.dir.path()}, work.path(),
                      {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url()})
              .exit_code == 0);
  TempDir empty;  // no spool: everything comes from the server
  const Run run = serve(initialize_request() + call(1, "list_sessions") +
                            call(2, "list_sessions", {{"status", "failed"}, {"limit", 1}}) +
                            call(3, "get_failure_context", {{"session_id", "fail_exc"}}) +
                            call(4, "diff_sessions", {{"session_a", "pass_full"}, {"session_b", "fail_exc"}}) +
                            call(5, "list_failures") + call(6, "search_events", {{"query", "upstream timed out"}}) +
                            call(7, "get_session", {{"session_id", "nope"}}) + call(8, "get_failure_context"),
                        {"mcp", "--dir", empty.path(), "--api", server.url()});
  CHECK(run.process.exit_code == 0);
  const json all = run.tool_value(1);
  CHECK(all["source"] == server.url());
  std::set<std::string> ids;
  for (const json& s : all["sessions"]) ids.insert(s["id"].get<std::string>());
  CHECK(ids == std::set<std::string>{"pass_full", "fail_exc", "errors", "nested"});
  const json failed = run.tool_value(2);
  REQUIRE(failed["sessions"].size() == 1);
  CHECK(failed["sessions"][0]["status"] == "failed");
  const json c = run.tool_value(3);
  CHECK(c["failed_tool_calls"][0]["tool_name"] == "calendar.search");
  CHECK(c["source"].get<std::string>().find(server.url()) == 0);
  CHECK(run.tool_value(4)["regressed"] == true);
  CHECK_FALSE(run.tool_value(5)["failures"].empty());
  bool hit = false;
  const json hits = run.tool_value(6);
  for (const json& h : hits["hits"]) hit |= h["session_id"] == "fail_exc";
  CHECK(hit);
  CHECK(run.by_id(7)["result"]["isError"] == true);
  CHECK(run.tool_value(8)["failed"] == true);
}

TEST_CASE("mcp --hosted: the reference's proxy tools read the dev server's /mcp routes", "[mcp]") {
  Spool spool;
  TempDir work;
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());
  const std::vector<std::string> env{"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url() + "/"};
  REQUIRE(run_process(kCli, {"spool", "replay", "--dir", spool.dir.path()}, work.path(), env).exit_code == 0);

  const std::string input = initialize_request() + call(1, "get_failure_context", {{"session_id", "fail_exc"}}) +
                            call(2, "get_fix_brief", {{"session_id", "fail_exc"}, {"include_evidence", false}}) +
                            call(3, "get_failure_context", {{"session_id", "nope"}});
  const ProcessResult p = run_process_with_input(kCli, {"mcp", "--hosted"}, work.path(), input, env);
  INFO(p.out << p.err);
  REQUIRE(p.exit_code == 0);
  std::map<int, json> results;
  std::istringstream lines(p.out);
  for (std::string line; std::getline(lines, line);) {
    const json r = json::parse(line);
    if (r["id"].is_number_integer() && r.contains("result")) results[r["id"].get<int>()] = r["result"]["structuredContent"];
  }
  REQUIRE(results.count(1) == 1);
  const json& context = results[1];
  CHECK(context["ok"] == true);
  CHECK(context["status"] == 200);
  CHECK(context["source"]["url"] == server.url() + "/mcp/failure-context");
  CHECK(context["session_id"] == "fail_exc");
  CHECK(context["failed_tool_calls"][0]["tool_name"] == "calendar.search");
  const json& brief = results[2];
  CHECK(brief["ok"] == true);
  CHECK(brief["failed"] == true);
  CHECK_FALSE(brief.contains("evidence"));
  CHECK(brief["summary"].get<std::string>().find("calendar.search failed") != std::string::npos);
  const json& missing = results[3];
  CHECK(missing["ok"] == false);
  CHECK(missing["status"] == 404);
  CHECK(missing["error"]["type"] == "http_error");
  CHECK(missing["error"]["message"] == "trace not found: nope");

  // Without the API key it says what is missing, on stderr (stdout is the protocol's), and fails.
  const ProcessResult unconfigured = run_process_with_input(
      kCli, {"mcp", "--hosted"}, work.path(), input, {"PROMPTETHEUS_API_KEY=", "HOME=" + work.path()});
  CHECK(unconfigured.exit_code == 1);
  CHECK(unconfigured.out.empty());
  CHECK(unconfigured.err.find("promptetheus mcp requires PROMPTETHEUS_API_KEY") != std::string::npos);
}
