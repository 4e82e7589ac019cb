// Typed helpers (contract §2.4, payloads §1.5-§1.7), envelope rules (§1.1-§1.2, §2.3), the
// session lifecycle (§2.2) and the testing helper CaptureSession (§2.10).
#include <pthread.h>

#include <functional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "promptetheus/session.hpp"
#include "promptetheus/testing.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;

namespace sdk_helpers_types {
struct AgentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace sdk_helpers_types

namespace {

json payload_of_last(const testing::CaptureSession& cap, const std::string& type) {
  auto e = cap.last(type);
  REQUIRE(e.has_value());
  return e->at("payload");
}

// Runs `body` on a new thread with a stack of `bytes` and waits for it, so that what a helper
// does on its caller's thread gets a known stack whatever `ulimit -s` says. `body` must not throw.
void run_with_stack(std::size_t bytes, const std::function<void()>& body) {
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, bytes) == 0);
  pthread_t thread;
  auto start = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  const int created = pthread_create(&thread, &attr, start, const_cast<std::function<void()>*>(&body));
  pthread_attr_destroy(&attr);
  REQUIRE(created == 0);
  pthread_join(thread, nullptr);
}


// Follows the single member or element of each container: how many containers were nested,
// and the value at the bottom.
std::pair<int, json> bottom_of(const json& value) {
  int containers = 0;
  const json* at = &value;
  while ((at->is_array() || at->is_object()) && at->size() == 1) {
    ++containers;
    at = at->is_array() ? &at->front() : &at->begin().value();
  }
  return {containers, *at};
}

}  // namespace

TEST_CASE("message, tool, retrieval and browser helpers emit the documented payloads", "[sdk][helpers]") {
  testing::CaptureSession cap;
  const Session& s = cap.session();
  REQUIRE(s.is_recording());

  CHECK(s.user_message("hello"));
  CHECK(payload_of_last(cap, "user_message") == json{{"content", "hello"}});
  CHECK(s.agent_message("hi there"));
  CHECK(payload_of_last(cap, "agent_message") == json{{"content", "hi there"}});

  std::string call_id = s.tool_call("search_calendar", json{{"day", "Tuesday"}});
  CHECK(std::regex_match(call_id, std::regex("^[0-9a-f]{32}$")));
  CHECK(payload_of_last(cap, "tool_call") ==
        json{{"tool_name", "search_calendar"}, {"arguments", {{"day", "Tuesday"}}}, {"call_id", call_id}});
  CHECK(s.tool_call("noargs", nullptr, "given-id") == "given-id");
  CHECK(payload_of_last(cap, "tool_call") ==
        json{{"tool_name", "noargs"}, {"arguments", json::object()}, {"call_id", "given-id"}});

  CHECK(s.tool_result("given-id"));
  CHECK(payload_of_last(cap, "tool_result") == json{{"call_id", "given-id"}, {"result", nullptr}, {"error", nullptr}});
  CHECK(s.tool_result(call_id, json::array({"Tuesday 2pm"}), std::string("partial")));
  CHECK(payload_of_last(cap, "tool_result") ==
        json{{"call_id", call_id}, {"result", json::array({"Tuesday 2pm"})}, {"error", "partial"}});

  json docs = json::array({json{{"id", "d1"}, {"content", "text"}, {"score", 0.5}}});
  CHECK(s.retrieval("calendar policy", docs));
  CHECK(payload_of_last(cap, "retrieval") == json{{"query", "calendar policy"}, {"documents", docs}});

  CHECK(s.browser_action("click", "#submit"));
  CHECK(payload_of_last(cap, "browser_action") == json{{"action", "click"}, {"target", "#submit"}, {"url", nullptr}});
  CHECK(s.browser_action("goto", "page", std::string("https://example.test/a")));
  CHECK(payload_of_last(cap, "browser_action") ==
        json{{"action", "goto"}, {"target", "page"}, {"url", "https://example.test/a"}});

  CHECK(s.dom_snapshot("https://example.test", "Book Tuesday"));
  CHECK(payload_of_last(cap, "dom_snapshot") == json{{"url", "https://example.test"},
                                                     {"visible_text", "Book Tuesday"},
                                                     {"selected_values", json::object()},
                                                     {"warnings", json::array()}});
  CHECK(s.dom_snapshot("u", "t", json{{"day", "Tue"}}, {"stale"}));
  CHECK(payload_of_last(cap, "dom_snapshot") ==
        json{{"url", "u"}, {"visible_text", "t"}, {"selected_values", {{"day", "Tue"}}}, {"warnings", {"stale"}}});
}

TEST_CASE("llm_call, score, metric, goal_check and state_change payloads", "[sdk][helpers]") {
  testing::CaptureSession cap;
  const Session& s = cap.session();

  CHECK(s.llm_call("gpt-x"));
  CHECK(payload_of_last(cap, "llm_call") == json{{"model", "gpt-x"}});
  LlmUsage usage;
  usage.input_tokens = 120;
  usage.output_tokens = 0;
  usage.latency_ms = 350;
  usage.messages_ref = "m-1";
  usage.prompt_ref = "p-1";
  CHECK(s.llm_call("gpt-y", usage));
  CHECK(payload_of_last(cap, "llm_call") == json{{"model", "gpt-y"},
                                                 {"input_tokens", 120},
                                                 {"output_tokens", 0},
                                                 {"latency_ms", 350},
                                                 {"messages_ref", "m-1"},
                                                 {"prompt_ref", "p-1"}});

  CHECK(s.score("quality", 0.9));
  CHECK(payload_of_last(cap, "score") == json{{"name", "quality"}, {"value", 0.9}});
  CHECK(s.score("passed", true, std::string("looks right"), std::string("judge")));
  CHECK(payload_of_last(cap, "score") ==
        json{{"name", "passed"}, {"value", true}, {"comment", "looks right"}, {"source", "judge"}});

  CHECK(s.metric("latency", 12.5, std::string("ms")));
  CHECK(payload_of_last(cap, "metric") == json{{"name", "latency"}, {"value", 12.5}, {"unit", "ms"}});
  CHECK(s.metric("count", 3));
  auto metric = payload_of_last(cap, "metric");
  CHECK(metric == json{{"name", "count"}, {"value", 3.0}});
  CHECK(metric.at("value").is_number_float());  // a double is written as 3.0, as Python does

  CHECK(s.goal_check(true));
  CHECK(payload_of_last(cap, "goal_check") == json{{"passed", true}, {"mismatches", json::array()}});
  CHECK(s.goal_check(false, {"day: expected Tuesday, got Wednesday"}));
  CHECK(payload_of_last(cap, "goal_check") ==
        json{{"passed", false}, {"mismatches", {"day: expected Tuesday, got Wednesday"}}});

  CHECK(s.state_change("cart", json{{"items", 0}}, json{{"items", 1}}));
  CHECK(payload_of_last(cap, "state_change") ==
        json{{"name", "cart"}, {"before", {{"items", 0}}}, {"after", {{"items", 1}}}});
  CHECK(s.state_change("plain"));
  CHECK(payload_of_last(cap, "state_change") == json{{"name", "plain"}, {"before", nullptr}, {"after", nullptr}});
}

TEST_CASE("error helper: from an exception, an exception_ptr, or a message", "[sdk][helpers]") {
  testing::CaptureSession cap;
  const Session& s = cap.session();

  CHECK(s.error(std::runtime_error("boom")));
  CHECK(payload_of_last(cap, "error") ==
        json{{"handled", true}, {"message", "boom"}, {"error_type", "std::runtime_error"}});

  CHECK(s.error(std::make_exception_ptr(sdk_helpers_types::AgentError("wrong day")), std::nullopt, false));
  CHECK(payload_of_last(cap, "error") ==
        json{{"handled", false}, {"message", "wrong day"}, {"error_type", "sdk_helpers_types::AgentError"}});

  CHECK(s.error(std::logic_error("x"), std::string("ValueError")));
  CHECK(payload_of_last(cap, "error").at("error_type") == "ValueError");

  CHECK(s.error(std::string("plain message")));
  CHECK(payload_of_last(cap, "error") == json{{"handled", true}, {"message", "plain message"}});
  CHECK(s.error(std::string("typed message"), std::string("Timeout"), false));
  CHECK(payload_of_last(cap, "error") == json{{"handled", false}, {"message", "typed message"}, {"error_type", "Timeout"}});
}

TEST_CASE("error() with a null exception_ptr records an unknown exception instead of crashing", "[sdk][helpers]") {
  // Run in a child process: a crash must fail this test, not the whole suite.
  auto result = sdk_test::run_in_child([] {
    testing::CaptureSession cap;
    CHILD_EXPECT(cap.session().error(std::exception_ptr{}), 10);
    auto e = cap.last("error");
    CHILD_EXPECT(e.has_value(), 11);
    CHILD_EXPECT(e->at("payload").at("message") == "unknown exception", 12);
    return 0;
  });
  CHECK(result.exit_code == 0);
}

TEST_CASE("update_metadata and add_tags emit their state_change variants", "[sdk][helpers]") {
  SessionOptions so;
  so.tags = {"x", "x", "y"};
  testing::CaptureSession cap(so);
  const Session& s = cap.session();

  auto started = cap.of_type("state_change").at(0);
  CHECK(started.at("payload").at("after").at("tags") == json::array({"x", "y"}));  // de-duplicated

  CHECK(s.update_metadata(json{{"customer", "acme"}, {"tier", 2}}));
  CHECK(payload_of_last(cap, "state_change") ==
        json{{"name", "metadata_update"}, {"before", nullptr}, {"after", {{"customer", "acme"}, {"tier", 2}}}});

  CHECK(s.add_tags({"a", "b", "a", "x"}));
  CHECK(payload_of_last(cap, "state_change") ==
        json{{"name", "tags_added"}, {"before", nullptr}, {"after", {{"tags", {"a", "b"}}}}});
  CHECK(s.add_tags({"a", "y"}));
  CHECK(payload_of_last(cap, "state_change").at("after") == json{{"tags", json::array()}});
}

TEST_CASE("200 000 tags with duplicates are de-duplicated in order, at start and by add_tags",
          "[sdk][helpers][tags]") {
  // Large enough that a quadratic de-duplication takes minutes: the ctest timeout catches that.
  constexpr int kTags = 200000;
  auto tag = [](int i) { return "tag-" + std::to_string(i); };
  SessionOptions so;
  for (int i = 0; i < kTags; ++i) {
    so.tags.push_back(tag(i));
    so.tags.push_back(tag(i / 2));  // an earlier tag again (tag 0 twice in a row)
  }
  testing::CaptureSession cap(so);
  const Session& s = cap.session();

  std::vector<std::string> added;
  for (int i = 0; i < kTags; ++i) {
    added.push_back(tag(kTags + i));      // new
    added.push_back(tag(i));              // given at start
    added.push_back(tag(kTags + i / 2));  // new, but already in this call
  }
  CHECK(s.add_tags(std::move(added)));
  CHECK(s.add_tags({tag(7), "fresh", tag(kTags + 7), "fresh"}));

  auto changes = cap.of_type("state_change");
  REQUIRE(changes.size() == 3);
  const json& started = changes[0].at("payload").at("after").at("tags");
  const json& first_added = changes[1].at("payload").at("after").at("tags");
  REQUIRE(started.size() == kTags);
  REQUIRE(first_added.size() == kTags);
  bool in_order = true;
  for (int i = 0; i < kTags && in_order; ++i) {
    in_order = started[i] == tag(i) && first_added[i] == tag(kTags + i);
  }
  CHECK(in_order);
  CHECK(changes[2].at("payload").at("after") == json{{"tags", {"fresh"}}});
}

TEST_CASE("JSON nested 100 000 levels deep is recorded, truncated at the depth limit", "[sdk][helpers][json]") {
  constexpr int kLevels = 100000;
  const int limit = 128;
  const std::string marker = "[truncated: nested deeper than 128 levels]";
  bool recorded = false;
  std::vector<json> events;
  Stats stats;
  // 4 MiB: recursing once per level of these values would overflow it many times over.
  run_with_stack(std::size_t{4} << 20, [&] {
    try {
      testing::CaptureSession cap;
      const Session& s = cap.session();
      json metadata = json::object();
      metadata["deep"] = sdk_test::nested_json(kLevels, true);
      json arguments = json::object();
      arguments["q"] = sdk_test::nested_json(kLevels, false);
      recorded = s.state_change("deep", sdk_test::nested_json(kLevels, false), sdk_test::nested_json(kLevels, true), std::move(metadata)) &&
                 !s.tool_call("search", std::move(arguments)).empty() && cap.session().end();
      events = cap.events();
      stats = cap.stats();
    } catch (...) {
      recorded = false;
    }
  });
  REQUIRE(recorded);
  REQUIRE(events.size() == 4);
  for (const auto& e : events) CHECK(e.is_object());  // every line parsed
  CHECK(stats.dropped_total() == 0);
  const json& change = events[1];
  REQUIRE(change.at("type") == "state_change");
  CHECK(bottom_of(change.at("payload").at("before")) == std::make_pair(limit, json(marker)));
  CHECK(bottom_of(change.at("payload").at("after")) == std::make_pair(limit, json(marker)));
  CHECK(bottom_of(change.at("metadata")) == std::make_pair(limit, json(marker)));
  const json& call = events[2];
  REQUIRE(call.at("type") == "tool_call");
  CHECK(bottom_of(call.at("payload").at("arguments")) == std::make_pair(limit, json(marker)));
}

TEST_CASE("session metadata nested 100 000 levels deep is kept, truncated at the depth limit", "[sdk][helpers][json]") {
  // The session keeps its metadata and copies it (into session_started, and on update_metadata);
  // nlohmann::json copies recursively, so the SDK must bound the depth before it copies.
  const int limit = 128;
  const std::string marker = "[truncated: nested deeper than 128 levels]";
  bool recorded = false;
  std::vector<json> events;
  run_with_stack(std::size_t{4} << 20, [&] {
    try {
      SessionOptions options;
      options.metadata = json::object();
      options.metadata["deep"] = sdk_test::nested_json(100000, true);
      testing::CaptureSession cap(std::move(options));
      json update = json::object();
      update["deeper"] = sdk_test::nested_json(100000, false);
      recorded = cap.session().update_metadata(std::move(update)) && cap.session().end();
      events = cap.events();
    } catch (...) {
      recorded = false;
    }
  });
  REQUIRE(recorded);
  REQUIRE(events.size() == 3);
  CHECK(bottom_of(events[0].at("metadata")) == std::make_pair(limit, json(marker)));
  CHECK(bottom_of(events[1].at("payload").at("after")) == std::make_pair(limit, json(marker)));
}

TEST_CASE("every event has the envelope of §1.1 with ids in the formats of §1.2", "[sdk][helpers]") {
  testing::CaptureSession cap;
  const Session& s = cap.session();
  const std::string sid = s.id();
  CHECK(std::regex_match(sid, std::regex("^[0-9A-HJKMNP-TV-Z]{26}$")));
  s.user_message("one", json{{"channel", "voice"}, {"start_ms", 0}});
  s.user_message("two", json::object());  // empty metadata: no key
  s.user_message("three", json("not an object"));
  s.metric("m", 1.0);
  s.end();
  auto events = cap.events();
  REQUIRE(events.size() == 6);

  std::regex timestamp(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$)");
  std::set<std::string> nonces;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i];
    INFO(e.dump());
    CHECK(e.at("session_id") == sid);
    CHECK(e.at("seq") == i);
    CHECK(std::regex_match(e.at("timestamp").get<std::string>(), timestamp));
    std::string key = e.at("idempotency_key");
    std::smatch m;
    REQUIRE(std::regex_match(key, m, std::regex("^(.+):([0-9a-f]{8}):([0-9]+)$")));
    CHECK(m[1] == sid);
    CHECK(m[3] == std::to_string(i));
    nonces.insert(m[2]);
    CHECK(e.at("payload").is_object());
    CHECK_FALSE(e.contains("span_id"));
    CHECK_FALSE(e.contains("parent_id"));
  }
  CHECK(nonces.size() == 1);  // one nonce per session
  CHECK(events[1].at("metadata") == json{{"channel", "voice"}, {"start_ms", 0}});
  CHECK_FALSE(events[2].contains("metadata"));
  CHECK_FALSE(events[3].contains("metadata"));
  CHECK_FALSE(events[4].contains("metadata"));

  CHECK(events.front().at("type") == "state_change");
  CHECK(events.front().at("payload") == json{{"name", "session_started"},
                                             {"before", nullptr},
                                             {"after",
                                              {{"agent", "test-agent"},
                                               {"user_goal", "test goal"},
                                               {"project_id", nullptr},
                                               {"environment", nullptr},
                                               {"tags", json::array()}}}});
  CHECK(events.back().at("type") == "session_end");
  CHECK(events.back().at("payload") == json{{"status", "completed"}, {"error", nullptr}});
}

TEST_CASE("a caller-given session id is used, and each Session has its own nonce", "[sdk][helpers]") {
  sdk_test::TempDir dir;
  Client client(sdk_test::spool_options(dir));
  SessionOptions so;
  so.client = &client;
  so.session_id = "restarted-run";
  so.agent = "planner";
  so.user_goal = "plan";
  so.project_id = "proj_1";
  so.environment = "ci";
  { Session first(so); }
  { Session second(so); }
  REQUIRE(client.flush(std::chrono::seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "restarted-run.jsonl");
  REQUIRE(events.size() == 4);
  std::set<std::string> keys;
  for (const auto& e : events) {
    CHECK(e.at("session_id") == "restarted-run");
    keys.insert(e.at("idempotency_key").get<std::string>());
  }
  CHECK(keys.size() == 4);  // seq restarts per Session, the nonce keeps keys unique
  CHECK(events[0].at("payload").at("after").at("project_id") == "proj_1");
  CHECK(events[0].at("payload").at("after").at("environment") == "ci");
  CHECK(events[0].at("payload").at("after").at("agent") == "planner");
}

TEST_CASE("the client's project and environment apply when the session gives none", "[sdk][helpers]") {
  sdk_test::TempDir dir;
  Options o = sdk_test::spool_options(dir);
  o.project_id = "proj_client";
  o.environment = "staging";
  Client client(o);
  SessionOptions so;
  so.client = &client;
  so.session_id = "defaults";
  { Session s(so); }
  REQUIRE(client.flush(std::chrono::seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "defaults.jsonl");
  REQUIRE_FALSE(events.empty());
  CHECK(events[0].at("payload").at("after").at("project_id") == "proj_client");
  CHECK(events[0].at("payload").at("after").at("environment") == "staging");
}

TEST_CASE("end() records session_end once, later events are dropped and counted", "[sdk][helpers]") {
  testing::CaptureSession cap;
  const Session& s = cap.session();
  s.user_message("before");
  CHECK(s.end("aborted", std::string("user cancelled")));
  CHECK_FALSE(s.is_recording());
  CHECK_FALSE(s.user_message("after"));
  CHECK_FALSE(s.metric("after", 1));
  CHECK(s.tool_call("after").size() == 32);  // the id is still returned; the event is dropped
  auto events = cap.events();
  REQUIRE(events.size() == 3);
  CHECK(cap.types() == std::vector<std::string>{"state_change", "user_message", "session_end"});
  CHECK(events.back().at("payload") == json{{"status", "aborted"}, {"error", "user cancelled"}});
  CHECK(events.back().at("seq") == 2);
  Stats st = cap.stats();
  CHECK(st.dropped_after_end == 3);  // user_message, metric, tool_call
  CHECK(st.enqueued == 3);
  CHECK(sdk_test::accounted(st));
}

TEST_CASE("end() is idempotent: a second end, or the scope's own end, records and counts nothing",
          "[sdk][helpers]") {
  sdk_test::TempDir dir;
  Client client(sdk_test::spool_options(dir));
  SessionOptions so;
  so.client = &client;
  so.session_id = "ended-early";
  {
    Session s(so);
    CHECK(s.end("failed", std::string("gave up")));
    CHECK_FALSE(s.end("completed"));
  }  // the destructor's end() finds session_end already recorded
  REQUIRE(client.flush(std::chrono::seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "ended-early.jsonl");
  REQUIRE(events.size() == 2);
  CHECK(events[1].at("payload") == json{{"status", "failed"}, {"error", "gave up"}});
  Stats st = client.stats();
  CHECK(st.dropped_after_end == 0);
  CHECK(st.dropped_total() == 0);
}

TEST_CASE("llm_call with an empty model is dropped and counted", "[sdk][helpers]") {
  testing::CaptureSession cap;
  const Session& s = cap.session();
  CHECK_FALSE(s.llm_call(""));
  CHECK(s.llm_call("ok-model"));
  CHECK(cap.count("llm_call") == 1);
  Stats st = cap.stats();
  CHECK(st.dropped_invalid == 1);
  CHECK(sdk_test::accounted(st));
  // The dropped event used a seq number: gaps are allowed, duplicates are not.
  auto events = cap.events();
  std::set<long long> seqs;
  for (const auto& e : events) seqs.insert(e.at("seq").get<long long>());
  CHECK(seqs.size() == events.size());
}

TEST_CASE("CaptureSession exposes events, types, of_type, count and last", "[sdk][helpers]") {
  SessionOptions so;
  so.agent = "calendar-agent";
  testing::CaptureSession cap(so);
  cap.session().user_message("a");
  cap.session().user_message("b");
  cap.session().metric("m", 2);
  CHECK(cap.size() == 4);
  CHECK(cap.types() == std::vector<std::string>{"state_change", "user_message", "user_message", "metric"});
  CHECK(cap.count("user_message") == 2);
  CHECK(cap.of_type("user_message").at(1).at("payload").at("content") == "b");
  CHECK(cap.last("user_message")->at("payload").at("content") == "b");
  CHECK_FALSE(cap.last("goal_check").has_value());
  CHECK(cap.events().front().at("payload").at("after").at("agent") == "calendar-agent");
  CHECK(cap.events().front().at("payload").at("after").at("user_goal") == "test goal");
  CHECK(current().id() == cap.session().id());
}
