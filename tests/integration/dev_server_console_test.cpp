// The dev server's console: its read routes (analysis, sessions list, failures, diff, artifact
// bytes), its static pages and their headers, the loopback auth rule, hostile strings, and the
// pages rendered by headless Chromium.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dev/dev_store.hpp"
#include "dev_server_fixture.hpp"

using nlohmann::json;
using promptetheus::testing::DevServerFixture;

namespace {

const std::string kImg = "<img src=x onerror=alert(1)>";
const std::string kScript = "</script><script>alert(1)</script>";
const std::string kMarker = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">";

// A valid 1x1 PNG.
const unsigned char kPngBytes[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xb0, 0xa9, 0xbd, 0xf6, 0x1f, 0x00, 0x05, 0x17, 0x02, 0x8f, 0x1d, 0x49, 0xa4, 0x16, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
const std::string kPng(reinterpret_cast<const char*>(kPngBytes), sizeof kPngBytes);

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// Builds a session's events: each add() is the next seq, a second later.
class Events {
 public:
  explicit Events(std::string session) : session_(std::move(session)) {}
  Events& add(const std::string& type, json payload, const std::string& span_id = "",
              const std::string& parent_id = "") {
    char ts[40];
    std::snprintf(ts, sizeof ts, "2026-01-02T03:%02d:%02d.000000Z", static_cast<int>(seq_ / 60),
                  static_cast<int>(seq_ % 60));
    json e{{"type", type},
           {"session_id", session_},
           {"timestamp", start_prefix_ + std::string(ts).substr(11)},
           {"seq", seq_},
           {"idempotency_key", session_ + ":" + std::to_string(seq_)},
           {"payload", std::move(payload)}};
    if (!span_id.empty()) e["span_id"] = span_id;
    if (!parent_id.empty()) e["parent_id"] = parent_id;
    list_.push_back(std::move(e));
    ++seq_;
    return *this;
  }
  Events& day(const std::string& date) {
    start_prefix_ = date + "T";
    return *this;
  }
  const json& list() const { return list_; }

 private:
  std::string session_;
  std::string start_prefix_ = "2026-01-02T";
  std::int64_t seq_ = 0;
  json list_ = json::array();
};

void create(DevServerFixture& server, const json& body) {
  auto res = server.client().Post("/api/traces", bearer(server.api_key()), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 201);
}

void post_events(DevServerFixture& server, const std::string& id, const json& events) {
  auto res = server.client().Post("/api/traces/" + DevServerFixture::encode_segment(id) + "/events",
                                  bearer(server.api_key()), json{{"events", events}}.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  REQUIRE(json::parse(res->body)["rejected"].empty());
}

std::string upload_png(DevServerFixture& server, const std::string& id) {
  auto res = server.client().Post("/api/traces/" + id + "/artifacts",
                                  {{"Authorization", "Bearer " + server.api_key()},
                                   {"X-Promptetheus-Filename", "../step one.png"},
                                   {"X-Promptetheus-Artifact-Type", "screenshot"}},
                                  kPng, "image/png");
  REQUIRE(res);
  REQUIRE(res->status == 201);
  return json::parse(res->body)["artifact"]["artifact_id"];
}

// A completed session: one span, an LLM call, a tool call that works.
void add_ok_session(DevServerFixture& server, const std::string& id, const std::string& agent = "travel") {
  create(server, {{"id", id}, {"agent", agent}, {"user_goal", "book a flight to Lisbon"}, {"tags", json::array({"prod", "eu"})}});
  Events e(id);
  e.add("state_change", {{"name", "session_started"}, {"before", nullptr},
                         {"after", {{"agent", agent}, {"user_goal", "book a flight to Lisbon"}}}})
      .add("state_change", {{"name", "span_start"}, {"span_name", "plan"}}, "span_a")
      .add("llm_call", {{"model", "gpt-4o"}, {"input_tokens", 100}, {"output_tokens", 20}, {"latency_ms", 800}}, "span_a")
      .add("tool_call", {{"tool_name", "search_flights"}, {"arguments", {{"to", "LIS"}}}, {"call_id", "c1"}}, "span_a")
      .add("tool_result", {{"call_id", "c1"}, {"result", {{"flights", 3}}}, {"error", nullptr}}, "span_a")
      .add("state_change", {{"name", "span_end"}, {"span_name", "plan"}, {"duration_ms", 3000}}, "span_a")
      .add("session_end", {{"status", "completed"}, {"error", nullptr}});
  post_events(server, id, e.list());
}

// A failed session: a failing tool call in a nested span, a failed goal check, an error, a
// screenshot, and a failed end.
void add_failed_session(DevServerFixture& server, const std::string& id, bool with_screenshot = true) {
  create(server, {{"id", id}, {"agent", "travel"}, {"user_goal", "book a flight to Lisbon"}, {"tags", json::array({"prod"})}});
  const std::string artifact = with_screenshot ? upload_png(server, id) : std::string();
  Events e(id);
  e.day("2026-01-03")
      .add("state_change", {{"name", "session_started"}, {"before", nullptr}, {"after", {{"agent", "travel"}}}})
      .add("state_change", {{"name", "span_start"}, {"span_name", "plan"}}, "span_a")
      .add("llm_call", {{"model", "gpt-4o"}, {"input_tokens", 300}, {"output_tokens", 50}, {"latency_ms", 900}}, "span_a")
      .add("state_change", {{"name", "span_start"}, {"span_name", "book"}}, "span_b", "span_a")
      .add("tool_call", {{"tool_name", "book_flight"}, {"arguments", {{"day", "friday"}}}, {"call_id", "c2"}}, "span_b", "span_a")
      .add("tool_result", {{"call_id", "c2"}, {"result", nullptr}, {"error", "TimeoutError: upstream timed out"}}, "span_b", "span_a")
      .add("state_change", {{"name", "span_end"}, {"span_name", "book"}, {"duration_ms", 2000}}, "span_b", "span_a")
      .add("state_change", {{"name", "span_end"}, {"span_name", "plan"}, {"duration_ms", 5000}}, "span_a")
      .add("goal_check", {{"passed", false}, {"mismatches", json::array({"day: wanted saturday, got friday"})}});
  if (with_screenshot) {
    e.add("screenshot", {{"artifact_id", artifact}, {"size_bytes", kPng.size()}, {"source_type", "bytes"}});
  }
  e.add("error", {{"message", "agent selected the wrong day"}, {"error_type", "RuntimeError"}, {"traceback", "Traceback: line 1"}})
      .add("session_end", {{"status", "failed"}, {"error", "RuntimeError: agent selected the wrong day"}});
  post_events(server, id, e.list());
}

void add_hostile_session(DevServerFixture& server, const std::string& id) {
  create(server, {{"id", id}, {"agent", kImg}, {"user_goal", kScript}, {"tags", json::array({kImg})}});
  Events e(id);
  e.day("2026-01-04")
      .add("user_message", {{"content", kMarker}})
      .add("state_change", {{"name", "span_start"}, {"span_name", kImg}}, "span_h")
      .add("tool_call", {{"tool_name", kImg}, {"arguments", {{"q", kScript}}}, {"call_id", "h1"}}, "span_h")
      .add("tool_result", {{"call_id", "h1"}, {"result", nullptr}, {"error", kScript}}, "span_h")
      .add("state_change", {{"name", "span_end"}, {"span_name", kImg}, {"duration_ms", 1000}}, "span_h")
      .add("session_end", {{"status", "failed"}, {"error", kImg}});
  post_events(server, id, e.list());
}

struct Reply {
  int status = 0;
  json body;
  httplib::Headers headers;
  std::string raw;
};

Reply get(DevServerFixture& server, const std::string& path, const httplib::Headers& headers = {}) {
  auto res = server.client().Get(path, headers);
  REQUIRE(res);
  Reply r;
  r.status = res->status;
  r.headers = res->headers;
  r.raw = res->body;
  if (res->get_header_value("Content-Type") == "application/json") r.body = json::parse(res->body);
  return r;
}

std::vector<std::string> ids_of(const json& sessions) {
  std::vector<std::string> ids;
  for (const json& s : sessions) ids.push_back(s["id"]);
  return ids;
}

}  // namespace

TEST_CASE("dev console: analysis returns the trace, fingerprint, overview, paged entries and spans") {
  DevServerFixture server;
  add_failed_session(server, "sess_fail");
  Reply r = get(server, "/api/traces/sess_fail/analysis");
  REQUIRE(r.status == 200);
  const json& b = r.body;
  CHECK(b["trace"]["id"] == "sess_fail");
  CHECK(b["trace"]["status"] == "failed");
  CHECK(b["fingerprint"]["is_failure"] == true);
  CHECK(b["fingerprint"]["fingerprint"].get<std::string>().size() == 12);
  CHECK_FALSE(b["fingerprint"]["label"].get<std::string>().empty());
  CHECK(b["overview"]["status"] == "failed");
  CHECK(b["overview"]["end_error"] == "RuntimeError: agent selected the wrong day");
  CHECK(b["overview"]["llm_calls"] == 1);
  CHECK(b["overview"]["input_tokens"] == 300);
  CHECK(b["overview"]["events"] == 12);
  CHECK(b["total_entries"] == 12);
  REQUIRE(b["entries"].size() == 12);
  CHECK(b["entries"][0]["seq"] == "0");
  for (const char* key : {"seq", "type", "offset_ms", "depth", "text", "failure", "span_id", "event"}) {
    CHECK(b["entries"][5].contains(key));
  }
  CHECK(b["entries"][5]["failure"] == true);  // the failing tool result
  CHECK(b["entries"][5]["event"]["payload"]["error"] == "TimeoutError: upstream timed out");
  REQUIRE(b["spans"].size() == 2);
  CHECK(b["spans"][0]["name"] == "plan");
  CHECK(b["spans"][1]["name"] == "book");
  CHECK(b["spans"][1]["parent_id"] == "span_a");
  CHECK(b["spans"][1]["depth"] == 1);
  CHECK(b["spans"][1]["failed"] == true);

  Reply page = get(server, "/api/traces/sess_fail/analysis?offset=3&limit=4");
  REQUIRE(page.status == 200);
  CHECK(page.body["total_entries"] == 12);
  REQUIRE(page.body["entries"].size() == 4);
  CHECK(page.body["entries"][0]["seq"] == "3");
  CHECK(page.body["entries"][3]["seq"] == "6");
  CHECK(page.body["spans"].size() == 2);               // spans and overview stay whole
  CHECK(page.body["overview"]["events"] == 12);
  CHECK(get(server, "/api/traces/sess_fail/analysis?offset=50").body["entries"].empty());
  CHECK(get(server, "/api/traces/sess_fail/analysis?limit=999999").body["limit"] == 5000);
  CHECK(get(server, "/api/traces/sess_fail/analysis?limit=x").status == 422);

  // A later event is seen by the next read (the analysed session is not kept stale).
  Events more("sess_fail");
  for (int i = 0; i < 12; ++i) more.add("user_message", {{"content", "filler"}});
  more.add("agent_message", {{"content", "one more"}});
  post_events(server, "sess_fail", json::array({more.list().back()}));
  Reply after = get(server, "/api/traces/sess_fail/analysis?offset=12");
  CHECK(after.body["total_entries"] == 13);
  REQUIRE(after.body["entries"].size() == 1);
  CHECK(after.body["entries"][0]["type"] == "agent_message");
  CHECK(after.body["overview"]["events"] == 13);

  Reply missing = get(server, "/api/traces/nope/analysis");
  CHECK(missing.status == 404);
  CHECK(missing.body == json{{"detail", "trace not found"}});
  auto post = server.client().Post("/api/traces/sess_fail/analysis", bearer(server.console_token()), "{}",
                                   "application/json");
  REQUIRE(post);
  CHECK(post->status == 405);
}

TEST_CASE("dev console: the sessions list, newest first, with filters and paging") {
  DevServerFixture server;
  add_ok_session(server, "sess_ok");              // 2026-01-02
  add_failed_session(server, "sess_fail", false);  // 2026-01-03
  add_hostile_session(server, "sess_hostile");    // 2026-01-04
  create(server, {{"id", "sess_empty"}, {"agent", "other"}, {"user_goal", "nothing yet"}});

  Reply all = get(server, "/api/console/sessions");
  REQUIRE(all.status == 200);
  CHECK(all.body["total"] == 4);
  // sess_empty has no events: it sorts by its creation time, today, so it is the newest.
  CHECK(ids_of(all.body["sessions"]) == std::vector<std::string>{"sess_empty", "sess_hostile", "sess_fail", "sess_ok"});
  const json& fail = all.body["sessions"][2];
  CHECK(fail["agent"] == "travel");
  CHECK(fail["user_goal"] == "book a flight to Lisbon");
  CHECK(fail["status"] == "failed");
  CHECK(fail["started_at"] == "2026-01-03T03:00:00.000000Z");
  CHECK(fail["duration_ms"].is_number());
  CHECK(fail["events"] == 11);
  CHECK(fail["llm_calls"] == 1);
  CHECK(fail["tokens"] == 350);
  CHECK(fail["cost_usd"].is_number());
  CHECK(fail["tags"] == json::array({"prod"}));
  CHECK(fail["fingerprint"]["is_failure"] == true);
  CHECK(fail["fingerprint"]["fingerprint"].get<std::string>().size() == 12);
  CHECK(all.body["sessions"][3]["fingerprint"]["is_failure"] == false);

  CHECK(ids_of(get(server, "/api/console/sessions?status=failed").body["sessions"]) ==
        std::vector<std::string>{"sess_hostile", "sess_fail"});
  CHECK(ids_of(get(server, "/api/console/sessions?agent=travel").body["sessions"]) ==
        std::vector<std::string>{"sess_fail", "sess_ok"});
  CHECK(ids_of(get(server, "/api/console/sessions?tag=eu").body["sessions"]) == std::vector<std::string>{"sess_ok"});
  CHECK(ids_of(get(server, "/api/console/sessions?q=WRONG%20DAY").body["sessions"]) ==
        std::vector<std::string>{"sess_fail"});
  CHECK(ids_of(get(server, "/api/console/sessions?q=NOTHING%20yet").body["sessions"]) ==
        std::vector<std::string>{"sess_empty"});
  CHECK(ids_of(get(server, "/api/console/sessions?q=sess_o").body["sessions"]) == std::vector<std::string>{"sess_ok"});
  CHECK(get(server, "/api/console/sessions?status=failed&agent=travel").body["total"] == 1);
  CHECK(get(server, "/api/console/sessions?status=nope").body["sessions"].empty());

  Reply page = get(server, "/api/console/sessions?offset=1&limit=2");
  CHECK(page.body["total"] == 4);
  CHECK(ids_of(page.body["sessions"]) == std::vector<std::string>{"sess_hostile", "sess_fail"});
  CHECK(get(server, "/api/console/sessions?offset=10").body["sessions"].empty());
  CHECK(get(server, "/api/console/sessions?offset=-1").status == 422);
}

TEST_CASE("dev console: summaries follow new events and re-created traces") {
  DevServerFixture server;
  create(server, {{"id", "s1"}, {"agent", "a"}, {"user_goal", "g"}});
  CHECK(get(server, "/api/console/sessions").body["sessions"][0]["events"] == 0);
  Events e("s1");
  e.add("llm_call", {{"model", "gpt-4o"}, {"input_tokens", 10}, {"output_tokens", 5}});
  post_events(server, "s1", e.list());
  json row = get(server, "/api/console/sessions").body["sessions"][0];
  CHECK(row["events"] == 1);
  CHECK(row["tokens"] == 15);
  CHECK(get(server, "/api/failures").body["failures"].empty());

  e.add("session_end", {{"status", "failed"}, {"error", "ValueError: bad input"}});
  post_events(server, "s1", e.list());  // the first is a duplicate, the second is new
  row = get(server, "/api/console/sessions").body["sessions"][0];
  CHECK(row["events"] == 2);
  CHECK(row["status"] == "failed");
  CHECK(row["fingerprint"]["is_failure"] == true);
  CHECK(get(server, "/api/failures").body["failures"].size() == 1);

  create(server, {{"id", "s1"}, {"agent", "renamed"}, {"user_goal", "g2"}});
  row = get(server, "/api/console/sessions").body["sessions"][0];
  CHECK(row["agent"] == "renamed");
  CHECK(row["user_goal"] == "g2");
  CHECK(get(server, "/api/console/sessions?agent=a").body["total"] == 0);
}

TEST_CASE("dev console: failures grouped by fingerprint across sessions") {
  DevServerFixture server;
  add_ok_session(server, "sess_ok");
  add_failed_session(server, "sess_fail_1", false);
  add_failed_session(server, "sess_fail_2", false);
  add_hostile_session(server, "sess_hostile");
  Reply r = get(server, "/api/failures");
  REQUIRE(r.status == 200);
  const json& groups = r.body["failures"];
  REQUIRE(groups.size() == 2);
  CHECK(groups[0]["count"] == 2);
  CHECK(groups[0]["agents"] == json::array({"travel"}));
  CHECK(groups[0]["sessions"].size() == 2);
  CHECK(groups[0]["first_seen"] == "2026-01-03T03:00:00.000000Z");
  CHECK(groups[0]["last_seen"] == "2026-01-03T03:00:00.000000Z");
  CHECK(groups[0]["fingerprint"].get<std::string>().size() == 12);
  for (const char* key : {"fingerprint", "label", "signals", "count", "first_seen", "last_seen", "agents", "sessions"}) {
    CHECK(groups[1].contains(key));
  }
  CHECK(groups[1]["sessions"] == json::array({"sess_hostile"}));
  CHECK(groups[1]["agents"] == json::array({kImg}));
}

TEST_CASE("dev console: the diff of two sessions with both overviews") {
  DevServerFixture server;
  add_ok_session(server, "sess_ok");
  add_failed_session(server, "sess_fail", false);
  Reply r = get(server, "/api/diff?a=sess_ok&b=sess_fail");
  REQUIRE(r.status == 200);
  CHECK(r.body["a_id"] == "sess_ok");
  CHECK(r.body["b_id"] == "sess_fail");
  // The comparison a person reads (as `promptetheus diff` prints it), and the reference's steps.
  CHECK(r.body["comparison"]["regressed"] == true);
  CHECK(r.body["comparison"]["verdict"].get<std::string>().rfind("REGRESSED: status", 0) == 0);
  CHECK(r.body["comparison"]["changes"][0]["text"] == "status: completed -> failed");
  CHECK(r.body["diff"]["regressed"] == true);
  CHECK(r.body["diff"]["identical"] == false);
  for (const char* key : {"added", "removed", "changed", "summary", "a", "b"}) CHECK(r.body["diff"].contains(key));
  CHECK(r.body["a_overview"]["status"] == "completed");
  CHECK(r.body["b_overview"]["status"] == "failed");
  CHECK_FALSE(r.body["a_steps"].empty());
  CHECK(r.body["a_steps"][0].contains("label"));

  Reply same = get(server, "/api/diff?a=sess_ok&b=sess_ok");
  CHECK(same.body["diff"]["identical"] == true);
  CHECK(get(server, "/api/diff?a=sess_ok&b=nope").status == 404);
  CHECK(get(server, "/api/diff?a=sess_ok").status == 422);
}

TEST_CASE("dev console: artifact bytes are served with their stored type") {
  DevServerFixture server;
  create(server, {{"id", "sid"}});
  const std::string artifact = upload_png(server, "sid");
  Reply r = get(server, "/api/traces/sid/artifacts/" + artifact);
  REQUIRE(r.status == 200);
  CHECK(r.raw == kPng);
  CHECK(server.client().Get("/api/traces/sid/artifacts/" + artifact)->get_header_value("Content-Type") == "image/png");
  CHECK(server.client().Get("/api/traces/sid/artifacts/" + artifact)->get_header_value("X-Content-Type-Options") == "nosniff");

  // Metadata only: a row but no bytes.
  auto meta = server.client().Post("/api/traces/sid/artifacts", bearer(server.api_key()),
                                   json{{"content_type", "image/png"}, {"size_bytes", 3}, {"artifact_id", "m1"}}.dump(),
                                   "application/json");
  REQUIRE(meta);
  REQUIRE(meta->status == 201);
  CHECK(get(server, "/api/traces/sid/artifacts/m1").status == 404);
  CHECK(get(server, "/api/traces/sid/artifacts/nope").status == 404);
  CHECK(get(server, "/api/traces/other/artifacts/" + artifact).status == 404);
  CHECK(get(server, "/api/traces/sid/artifacts/..%2F..%2Fpromptetheus.db").status == 404);
  CHECK(get(server, "/api/traces/..%2F..%2F/artifacts/x").status == 404);
}

TEST_CASE("dev console: the pages are served with a strict content security policy") {
  DevServerFixture server;
  for (const char* path : {"/", "/index.html", "/console.js", "/console.css"}) {
    auto res = server.client().Get(path);
    REQUIRE(res);
    INFO(path);
    CHECK(res->status == 200);
    const std::string csp = res->get_header_value("Content-Security-Policy");
    for (const char* directive : {"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:",
                                  "connect-src 'self'", "base-uri 'none'", "form-action 'none'",
                                  "frame-ancestors 'none'"}) {
      CHECK(csp.find(directive) != std::string::npos);
    }
    CHECK(csp.find("unsafe") == std::string::npos);
    CHECK(res->get_header_value("X-Content-Type-Options") == "nosniff");
  }
  auto html = server.client().Get("/");
  CHECK(html->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(html->body.find("<script src=\"/console.js\"") != std::string::npos);
  CHECK(html->body.find("<script>") == std::string::npos);  // no inline script
  CHECK(html->body.find("<style") == std::string::npos);    // no inline style
  CHECK(html->body.find("style=") == std::string::npos);
  CHECK(server.client().Get("/console.js")->get_header_value("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(server.client().Get("/console.css")->get_header_value("Content-Type") == "text/css; charset=utf-8");
  CHECK(server.client().Get("/console.js")->body.find("innerHTML") == std::string::npos);
  CHECK(server.client().Get("/other.js")->status == 404);
  // The JSON routes carry the policy too.
  CHECK_FALSE(server.client().Get("/api/console/sessions")->get_header_value("Content-Security-Policy").empty());
}

TEST_CASE("dev console: reads need no credential on loopback, writes and other reads still do") {
  DevServerFixture server;
  add_ok_session(server, "sess_ok");
  for (const char* path : {"/api/console/sessions", "/api/failures", "/api/traces/sess_ok/analysis",
                           "/api/diff?a=sess_ok&b=sess_ok"}) {
    INFO(path);
    CHECK(get(server, path).status == 200);
    CHECK(get(server, path, bearer(server.console_token())).status == 200);
    CHECK(get(server, path, bearer("wrong")).status == 401);          // a credential sent is checked
    CHECK(get(server, path, bearer(server.api_key())).status == 403);  // reading is a console feature
    CHECK(get(server, path, {{"Host", "evil.example:80"}}).status == 401);  // a rebound name
    CHECK(get(server, path, {{"Host", "localhost"}}).status == 200);
  }
  // Writes and the older read routes keep their auth.
  CHECK(get(server, "/api/traces").status == 401);
  CHECK(get(server, "/api/traces/sess_ok").status == 401);
  auto write = server.client().Post("/api/traces", "{}", "application/json");
  REQUIRE(write);
  CHECK(write->status == 401);
}

TEST_CASE("dev console: the auth decision for loopback and other binds") {
  using namespace promptetheus::devserver;
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("[::1]"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host("::"));
  CHECK_FALSE(is_loopback_host("192.168.1.2"));
  CHECK_FALSE(is_loopback_host("127.0.0.1.evil.example"));
  CHECK_FALSE(is_loopback_host("127.evil"));
  CHECK_FALSE(is_loopback_host(""));
  CHECK(is_loopback_host_header("127.0.0.1:4318"));
  CHECK(is_loopback_host_header("LOCALHOST:4318"));
  CHECK(is_loopback_host_header("[::1]:4318"));
  CHECK_FALSE(is_loopback_host_header("evil.example"));
  CHECK_FALSE(is_loopback_host_header("[::1]x"));
  CHECK(console_read_without_credential("127.0.0.1", "127.0.0.1:4318"));
  CHECK_FALSE(console_read_without_credential("0.0.0.0", "127.0.0.1:4318"));
  CHECK_FALSE(console_read_without_credential("192.168.1.2", "192.168.1.2:4318"));
  CHECK_FALSE(console_read_without_credential("127.0.0.1", "attacker.example:4318"));
}

TEST_CASE("dev console: hostile strings come back as plain JSON strings") {
  DevServerFixture server;
  add_hostile_session(server, "sess_hostile");
  Reply list = get(server, "/api/console/sessions");
  REQUIRE(list.status == 200);
  CHECK(list.headers.find("Content-Type")->second == "application/json");
  const json& row = list.body["sessions"][0];
  CHECK(row["agent"] == kImg);
  CHECK(row["user_goal"] == kScript);
  CHECK(row["error"] == kImg);
  CHECK(row["tags"] == json::array({kImg}));
  Reply analysis = get(server, "/api/traces/sess_hostile/analysis");
  CHECK(analysis.body["trace"]["user_goal"] == kScript);
  CHECK(analysis.body["spans"][0]["name"] == kImg);
  CHECK(analysis.body["entries"][0]["event"]["payload"]["content"] == kMarker);
  CHECK(analysis.body["entries"][3]["event"]["payload"]["error"] == kScript);
}

namespace {

std::string run_command(const std::string& command, int& exit_status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) {
    exit_status = -1;
    return out;
  }
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string chromium_binary() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return {};
}

std::string html_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

class Browser {
 public:
  explicit Browser(std::string binary) : binary_(std::move(binary)) {
    char pattern[] = "/tmp/promptetheus-chromium-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    profile_ = pattern;
  }
  ~Browser() {
    std::error_code ec;
    std::filesystem::remove_all(profile_, ec);
  }
  std::string flags() const {
    return binary_ + " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                     "--hide-scrollbars --user-data-dir=" + profile_.string() + " --virtual-time-budget=5000";
  }
  std::string dump_dom(const std::string& url) {
    int status = 0;
    std::string dom = run_command("timeout 90 " + flags() + " --dump-dom '" + url + "' 2>/dev/null", status);
    INFO("chromium --dump-dom " << url << " exited " << status);
    REQUIRE(status == 0);
    return dom;
  }
  void screenshot(const std::string& url, const std::filesystem::path& file) {
    int status = 0;
    run_command("timeout 90 " + flags() + " --window-size=1280,900 --screenshot=" + file.string() + " '" + url +
                    "' >/dev/null 2>&1",
                status);
    INFO("chromium --screenshot " << url << " exited " << status);
    CHECK(status == 0);
    CHECK(std::filesystem::exists(file));
  }

 private:
  std::string binary_;
  std::filesystem::path profile_;
};

void check_no_injection(const std::string& dom) {
  CHECK(dom.find("<img src=\"x\"") == std::string::npos);
  CHECK(dom.find("<img src=x") == std::string::npos);
  CHECK(dom.find("<script>alert") == std::string::npos);
  CHECK(dom.find("data-pwned=\"1\"") == std::string::npos);
}

}  // namespace

TEST_CASE("dev console: the pages render in headless Chromium, hostile strings as text") {
  const std::string binary = chromium_binary();
  INFO("chromium is not installed: scripts/setup.sh installs it (apt-get install chromium)");
  REQUIRE_FALSE(binary.empty());

  DevServerFixture server;
  add_ok_session(server, "sess_ok");
  add_failed_session(server, "sess_fail");
  add_hostile_session(server, "sess_hostile");
  const std::string failure_label =
      get(server, "/api/traces/sess_fail/analysis").body["fingerprint"]["label"].get<std::string>();

  const std::filesystem::path shots = std::filesystem::path(PROMPTETHEUS_BUILD_DIR) / "console-screenshots";
  std::filesystem::create_directories(shots);
  Browser browser(binary);
  const std::string base = server.base_url() + "/#/";

  SECTION("sessions list") {
    const std::string dom = browser.dump_dom(base + "sessions");
    CHECK(dom.find("sess_ok") != std::string::npos);
    CHECK(dom.find("sess_fail") != std::string::npos);
    CHECK(dom.find("sess_hostile") != std::string::npos);
    CHECK(dom.find("class=\"failed\"") != std::string::npos);  // failed rows are marked
    CHECK(dom.find(html_text(kImg)) != std::string::npos);
    CHECK(dom.find(html_text(kScript)) != std::string::npos);
    check_no_injection(dom);
    browser.screenshot(base + "sessions", shots / "sessions.png");
  }
  SECTION("a failed session") {
    const std::string dom = browser.dump_dom(base + "session/sess_fail");
    CHECK(dom.find("RuntimeError: agent selected the wrong day") != std::string::npos);
    CHECK(dom.find(html_text(failure_label)) != std::string::npos);
    CHECK(dom.find("wf-bar") != std::string::npos);
    CHECK(dom.find("book_flight") != std::string::npos);
    CHECK(dom.find("TimeoutError: upstream timed out") != std::string::npos);
    CHECK(dom.find("src=\"/api/traces/sess_fail/artifacts/artifact_1\"") != std::string::npos);
    CHECK(dom.find("Compare with") != std::string::npos);
    check_no_injection(dom);
    browser.screenshot(base + "session/sess_fail", shots / "session.png");
  }
  SECTION("the hostile session") {
    const std::string dom = browser.dump_dom(base + "session/sess_hostile");
    CHECK(dom.find(html_text(kImg)) != std::string::npos);
    CHECK(dom.find(html_text(kScript)) != std::string::npos);
    check_no_injection(dom);
  }
  SECTION("compare") {
    const std::string url = base + "compare?a=sess_ok&b=sess_fail";
    const std::string dom = browser.dump_dom(url);
    CHECK(dom.find("Regressed") != std::string::npos);
    CHECK(dom.find("status: completed -&gt; failed") != std::string::npos);
    CHECK(dom.find("Verdict: REGRESSED") != std::string::npos);
    CHECK(dom.find("Steps of A") != std::string::npos);
    CHECK(dom.find("sess_ok") != std::string::npos);
    CHECK(dom.find("sess_fail") != std::string::npos);
    browser.screenshot(url, shots / "compare.png");
  }
  SECTION("failures") {
    const std::string dom = browser.dump_dom(base + "failures");
    CHECK(dom.find(html_text(failure_label)) != std::string::npos);
    CHECK(dom.find("sess_fail") != std::string::npos);
    CHECK(dom.find("sess_hostile") != std::string::npos);
    check_no_injection(dom);
    browser.screenshot(base + "failures", shots / "failures.png");
  }
}

TEST_CASE("dev console: sessions list timing with 10000 sessions (manual run)", "[.][bench]") {
  // Not part of the suite: run `integration_tests "[bench]"` to print the figures for
  // docs/performance.md. The database is filled directly, then read over HTTP.
  char pattern[] = "/tmp/promptetheus-console-bench-XXXXXX";
  REQUIRE(mkdtemp(pattern));
  const std::filesystem::path dir = pattern;
  const std::string db = (dir / "promptetheus.db").string();
  {
    promptetheus::devserver::DevStore store(db);
    for (int i = 0; i < 10000; ++i) {
      const std::string id = "sess_" + std::to_string(i);
      store.put_trace({{"id", id}, {"agent", i % 3 ? "travel" : "support"}, {"user_goal", "goal " + std::to_string(i)},
                       {"status", i % 7 ? "completed" : "failed"}, {"started_at", "2026-01-01T00:00:00Z"},
                       {"tags", json::array({i % 2 ? "odd" : "even"})}});
      Events e(id);
      e.add("state_change", {{"name", "span_start"}, {"span_name", "plan"}}, "span_a");
      for (int k = 0; k < 6; ++k) e.add("llm_call", {{"model", "gpt-4o"}, {"input_tokens", 100}, {"output_tokens", 10}}, "span_a");
      e.add("state_change", {{"name", "span_end"}, {"span_name", "plan"}, {"duration_ms", 9000}}, "span_a");
      e.add("session_end", {{"status", i % 7 ? "completed" : "failed"}, {"error", i % 7 ? json(nullptr) : json("ValueError: x")}});
      std::vector<promptetheus::devserver::StoredEvent> stored;
      for (const json& ev : e.list()) {
        stored.push_back({ev["idempotency_key"].get<std::string>(), ev["seq"].get<std::int64_t>(), ev.dump(), std::nullopt});
      }
      store.add_events(id, stored);
    }
  }
  DevServerFixture server([&](promptetheus::devserver::DevServerOptions& o) { o.db_path = db; });
  const auto timed = [&](const std::string& path) {
    const auto start = std::chrono::steady_clock::now();
    Reply r = get(server, path);
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(r.status == 200);
    return ms;
  };
  const double cold = timed("/api/console/sessions");
  double warm_max = 0, filtered_max = 0, search_max = 0;
  for (int i = 0; i < 20; ++i) {
    warm_max = std::max(warm_max, timed("/api/console/sessions"));
    filtered_max = std::max(filtered_max, timed("/api/console/sessions?status=failed&agent=travel&tag=odd"));
    search_max = std::max(search_max, timed("/api/console/sessions?q=goal%2099&offset=10&limit=50"));
  }
  const double failures = timed("/api/failures");
  WARN("10000 sessions: first list right after start (waits for the background fill) " << cold << " ms; warm list max " << warm_max
                                                   << " ms; filtered max " << filtered_max << " ms; search max "
                                                   << search_max << " ms; failures " << failures << " ms");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

namespace {

// The ms the page says it took to be ready (console.js sets data-rendered-ms), or -1.
double rendered_ms(const std::string& dom) {
  const std::string key = "data-rendered-ms=\"";
  const auto at = dom.find(key);
  if (at == std::string::npos) return -1;
  return std::stod(dom.substr(at + key.size(), dom.find('"', at + key.size()) - at - key.size()));
}

}  // namespace

TEST_CASE("dev console: a 100000-event session page in the browser (manual run)", "[.][bench]") {
  // Not part of the suite: run `integration_tests "[bench]"` for the figures of
  // docs/performance.md. The same session is read by the console from the dev server and by a
  // report from a file; each page reports when it was ready, in ms since navigation started.
  const std::string binary = chromium_binary();
  REQUIRE_FALSE(binary.empty());
  char pattern[] = "/tmp/promptetheus-render-bench-XXXXXX";
  REQUIRE(mkdtemp(pattern));
  const std::filesystem::path dir = pattern;
  constexpr int kEvents = 100000;
  std::vector<promptetheus::devserver::StoredEvent> stored;
  std::string jsonl;
  for (int i = 0; i < kEvents; ++i) {
    const int ms = i * 10;
    char ts[48];
    std::snprintf(ts, sizeof ts, "2026-01-02T03:%02d:%02d.%03d000Z", ms / 60000, (ms / 1000) % 60, ms % 1000);
    json payload;
    std::string type;
    switch (i % 4) {
      case 0: type = "agent_message", payload = {{"content", "Looking for a room, step " + std::to_string(i)}}; break;
      case 1: type = "llm_call", payload = {{"model", "gpt-4o-mini"}, {"input_tokens", 800}, {"output_tokens", 120}}; break;
      case 2: type = "tool_call", payload = {{"tool_name", "calendar.search"}, {"call_id", "c" + std::to_string(i)}, {"arguments", {{"day", "Tuesday"}, {"page", i}}}}; break;
      default: type = "tool_result", payload = {{"call_id", "c" + std::to_string(i - 1)}, {"result", {{"rooms", {"Limmat", "Uetliberg"}}}}, {"error", nullptr}}; break;
    }
    const json e{{"type", type}, {"session_id", "big"}, {"timestamp", ts}, {"seq", i},
                 {"idempotency_key", "big:" + std::to_string(i)}, {"payload", payload}};
    stored.push_back({e["idempotency_key"].get<std::string>(), i, e.dump(), std::nullopt});
    jsonl += e.dump() + "\n";
  }
  const std::string db = (dir / "promptetheus.db").string();
  {
    promptetheus::devserver::DevStore store(db);
    store.put_trace({{"id", "big"}, {"agent", "calendar-agent"}, {"status", "completed"}, {"started_at", "2026-01-02T03:00:00Z"}});
    store.add_events("big", stored);
  }
  std::ofstream(dir / "big.jsonl") << jsonl;

  DevServerFixture server([&](promptetheus::devserver::DevServerOptions& o) { o.db_path = db; });
  // The browser runs with a virtual time budget (so that --dump-dom waits for the page's
  // requests), and virtual time stands still while a request is pending: the page's own figure
  // is its work without the wait for the server, which is timed here over HTTP.
  const auto timed_analysis = [&] {
    const auto start = std::chrono::steady_clock::now();
    const Reply r = get(server, "/api/traces/big/analysis?offset=0&limit=500");
    REQUIRE(r.status == 200);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  const double analysis_cold = timed_analysis();
  const double analysis_warm = timed_analysis();
  Browser browser(binary);
  const std::string console_dom = browser.dump_dom(server.base_url() + "/#/session/big");
  CHECK(console_dom.find("events 1–500 of 100000") != std::string::npos);
  const double page_work = rendered_ms(console_dom);

  int status = 0;
  run_command(std::string(PROMPTETHEUS_CLI_PATH) + " report " + (dir / "big.jsonl").string() + " -o " +
                  (dir / "big.html").string() + " >/dev/null",
              status);
  REQUIRE(status == 0);
  const std::string report_dom = browser.dump_dom("file://" + (dir / "big.html").string());
  CHECK(report_dom.find("events 1–500 of 100000") != std::string::npos);
  WARN("100000-event session: analysis route " << analysis_cold << " ms first, " << analysis_warm
       << " ms cached; console page work in the browser " << page_work << " ms; so the page is ready after about "
       << analysis_cold + page_work << " ms on a first visit, " << analysis_warm + page_work
       << " ms later; report from disk ready after " << rendered_ms(report_dom) << " ms");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_CASE("dev server: the MCP proxy's failure-context and fix-brief routes answer from its data") {
  DevServerFixture server;
  add_ok_session(server, "sess_ok");
  add_failed_session(server, "sess_fail", false);
  const auto post = [&](const std::string& path, const json& body, const std::string& key) {
    auto res = server.client().Post(path.c_str(), bearer(key), body.dump(), "application/json");
    REQUIRE(res);
    return std::make_pair(res->status, json::parse(res->body, nullptr, false));
  };

  // By session id, with the project key the proxy sends.
  auto [status, context] = post("/mcp/failure-context", {{"session_id", "sess_fail"}}, server.api_key());
  REQUIRE(status == 200);
  CHECK(context["session_id"] == "sess_fail");
  CHECK(context["failed"] == true);
  CHECK(context["chosen_as_newest_failed"] == false);
  REQUIRE(context["failed_tool_calls"].size() == 1);
  CHECK(context["failed_tool_calls"][0]["tool_name"] == "book_flight");
  CHECK(context["failed_tool_calls"][0]["arguments"] == json{{"day", "friday"}});
  CHECK(context["failed_tool_calls"][0]["error"] == "TimeoutError: upstream timed out");
  CHECK(context["end"]["error"] == "RuntimeError: agent selected the wrong day");
  CHECK(context["failed_goal_checks"][0]["mismatches"][0] == "day: wanted saturday, got friday");

  // No id: the newest failed session. A run or incident id is read as a session id.
  auto [newest_status, newest] = post("/mcp/failure-context", json::object(), server.console_token());
  REQUIRE(newest_status == 200);
  CHECK(newest["session_id"] == "sess_fail");
  CHECK(newest["chosen_as_newest_failed"] == true);
  CHECK(post("/mcp/failure-context", {{"incident_id", "sess_fail"}}, server.api_key()).second["session_id"] == "sess_fail");
  CHECK(post("/mcp/failure-context", {{"session_id", nullptr}, {"run_id", "sess_ok"}}, server.api_key()).second["failed"] == false);

  auto [brief_status, brief] = post("/mcp/fix-brief", {{"session_id", "sess_fail"}}, server.api_key());
  REQUIRE(brief_status == 200);
  CHECK(brief["session_id"] == "sess_fail");
  CHECK(brief["failed"] == true);
  CHECK(brief["summary"].get<std::string>().find("book_flight failed") != std::string::npos);
  CHECK(brief["summary"].get<std::string>().find("RuntimeError: agent selected the wrong day") != std::string::npos);
  CHECK(brief["first_failure"]["type"] == "tool_result");
  CHECK(brief["commands"].dump().find("promptetheus diff sess_ok sess_fail") != std::string::npos);  // a passing run to compare
  CHECK(brief["evidence"]["failed_tool_calls"].size() == 1);
  CHECK_FALSE(post("/mcp/fix-brief", {{"session_id", "sess_fail"}, {"include_evidence", false}}, server.api_key())
                  .second.contains("evidence"));

  // Errors: unknown session, wrong types, no credential.
  CHECK(post("/mcp/failure-context", {{"session_id", "nope"}}, server.api_key()).first == 404);
  CHECK(post("/mcp/failure-context", {{"session_id", 7}}, server.api_key()).first == 422);
  CHECK(post("/mcp/fix-brief", {{"session_id", "sess_fail"}, {"include_evidence", "yes"}}, server.api_key()).first == 422);
  CHECK(post("/mcp/fix-brief", json::object(), "wrong").first == 401);
  auto get = server.client().Get("/mcp/failure-context", bearer(server.api_key()));
  REQUIRE(get);
  CHECK(get->status == 405);
}
