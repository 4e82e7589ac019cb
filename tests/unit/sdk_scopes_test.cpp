// Spans and parent chains (contract §2.6), current() and Context across threads (§2.7), the
// wrappers' event order (§2.8), and exceptions passing through Session, ToolCall and Span scopes.
#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "promptetheus/context.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/tool_call.hpp"
#include "promptetheus/wrappers.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;
using sdk_test::TempDir;

namespace sdk_scopes_types {

// Remembers where each instance lives and how often one was copied, to prove that the exception
// caught by the host is the very object it threw.
struct AgentError : std::runtime_error {
  static inline const AgentError* last_constructed = nullptr;
  static inline int copies = 0;
  explicit AgentError(const std::string& what) : std::runtime_error(what) { last_constructed = this; }
  AgentError(const AgentError& other) : std::runtime_error(other) { ++copies; }
};

}  // namespace sdk_scopes_types

using sdk_scopes_types::AgentError;

namespace {

// A spool client plus a session id: the events of one session, read back after a flush.
struct Harness {
  TempDir dir;
  Client client{sdk_test::spool_options(dir)};

  SessionOptions options(const std::string& id) {
    SessionOptions so;
    so.client = &client;
    so.session_id = id;
    so.agent = "scopes";
    so.user_goal = "test scopes";
    return so;
  }
  std::vector<json> events(const std::string& id) {
    REQUIRE(client.flush(std::chrono::seconds(5)));
    return sdk_test::read_events(dir.path / "spool" / (id + ".jsonl"));
  }
  // Every session file in the spool, in file name order.
  std::vector<std::vector<json>> all_sessions() {
    REQUIRE(client.flush(std::chrono::seconds(5)));
    std::vector<sdk_test::fs::path> files;
    for (auto& entry : sdk_test::fs::directory_iterator(dir.path / "spool")) {
      if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<std::vector<json>> out;
    for (auto& f : files) out.push_back(sdk_test::read_events(f));
    return out;
  }
};

const json* find_event(const std::vector<json>& events, const std::string& type, const std::string& key,
                       const json& value) {
  for (const auto& e : events) {
    if (e.at("type") == type && e.at("payload").value(key, json()) == value) return &e;
  }
  return nullptr;
}

const json& span_marker(const std::vector<json>& events, const std::string& marker, const std::string& span_name) {
  for (const auto& e : events) {
    const json& p = e.at("payload");
    if (e.at("type") == "state_change" && p.value("name", "") == marker && p.value("span_name", "") == span_name) {
      return e;
    }
  }
  FAIL("no " << marker << " for span " << span_name);
  static json none;
  return none;
}

}  // namespace

// ---- spans ------------------------------------------------------------------------------------

TEST_CASE("nested spans give a parent chain, and events carry the innermost span", "[sdk][spans]") {
  Harness h;
  std::string l1_id, l2_id, l3_id;
  {
    Session s(h.options("nested"));
    s.user_message("outside");
    {
      Span l1(s, "l1", json{{"step", 1}});
      l1_id = l1.id();
      {
        Span l2("l2");  // of current()
        l2_id = l2.id();
        {
          Span l3(s, "l3");
          l3_id = l3.id();
          s.user_message("deep");
          std::this_thread::sleep_for(std::chrono::milliseconds(30));
        }
        s.user_message("middle");
      }
    }
    s.user_message("after");
  }
  std::regex span_re("^span_[0-9a-f]{32}$");
  REQUIRE(std::regex_match(l1_id, span_re));
  REQUIRE(std::regex_match(l2_id, span_re));
  REQUIRE(std::regex_match(l3_id, span_re));
  CHECK(l1_id != l2_id);
  CHECK(l2_id != l3_id);

  auto events = h.events("nested");
  const json& s1 = span_marker(events, "span_start", "l1");
  CHECK(s1.at("span_id") == l1_id);
  CHECK(s1.at("parent_id").is_null());
  CHECK(s1.at("metadata") == json{{"step", 1}});
  CHECK(s1.at("payload") == json{{"name", "span_start"}, {"span_name", "l1"}});
  const json& s2 = span_marker(events, "span_start", "l2");
  CHECK(s2.at("span_id") == l2_id);
  CHECK(s2.at("parent_id") == l1_id);
  CHECK_FALSE(s2.contains("metadata"));
  const json& s3 = span_marker(events, "span_start", "l3");
  CHECK(s3.at("span_id") == l3_id);
  CHECK(s3.at("parent_id") == l2_id);

  const json* deep = find_event(events, "user_message", "content", "deep");
  REQUIRE(deep);
  CHECK(deep->at("span_id") == l3_id);
  CHECK(deep->at("parent_id") == l2_id);
  const json* middle = find_event(events, "user_message", "content", "middle");
  REQUIRE(middle);
  CHECK(middle->at("span_id") == l2_id);
  CHECK(middle->at("parent_id") == l1_id);
  for (const char* content : {"outside", "after"}) {
    const json* e = find_event(events, "user_message", "content", content);
    REQUIRE(e);
    CHECK_FALSE(e->contains("span_id"));
    CHECK_FALSE(e->contains("parent_id"));
  }

  const json& e3 = span_marker(events, "span_end", "l3");
  CHECK(e3.at("span_id") == l3_id);
  CHECK(e3.at("parent_id") == l2_id);
  // Milliseconds to the microsecond: three decimals at most.
  const double ms = e3.at("payload").at("duration_ms").get<double>();
  CHECK(ms >= 25);
  CHECK(ms * 1000 == Approx(std::round(ms * 1000)).margin(1e-6));
  CHECK(e3.at("seq") > deep->at("seq"));
  const json& e1 = span_marker(events, "span_end", "l1");
  CHECK(e1.at("span_id") == l1_id);
  CHECK(e1.at("parent_id").is_null());
  CHECK(e1.at("metadata") == json{{"step", 1}});  // span metadata rides on both markers
  CHECK(e1.at("payload").size() == 3);
}

TEST_CASE("spans of two sessions interleaved on one thread do not interfere", "[sdk][spans]") {
  Harness h;
  std::string a1, a2, b1;
  {
    Session a(h.options("session-a"));
    Session b(h.options("session-b"));
    Span sa1(a, "a1");
    a1 = sa1.id();
    Span sb1(b, "b1");
    b1 = sb1.id();
    Span sa2(a, "a2");
    a2 = sa2.id();
    a.user_message("in a");
    b.user_message("in b");
  }
  auto ea = h.events("session-a");
  auto eb = h.events("session-b");
  CHECK(span_marker(ea, "span_start", "a2").at("parent_id") == a1);
  const json* in_a = find_event(ea, "user_message", "content", "in a");
  REQUIRE(in_a);
  CHECK(in_a->at("span_id") == a2);
  CHECK(in_a->at("parent_id") == a1);
  const json* in_b = find_event(eb, "user_message", "content", "in b");
  REQUIRE(in_b);
  CHECK(in_b->at("span_id") == b1);
  CHECK(in_b->at("parent_id").is_null());
  CHECK(span_marker(eb, "span_start", "b1").at("parent_id").is_null());
  for (const auto& e : ea) CHECK(e.value("span_id", "") != b1);
  for (const auto& e : eb) CHECK(e.value("span_id", "") != a1);
}

TEST_CASE("a span of a no-op session does nothing", "[sdk][spans]") {
  Span detached(SessionHandle{}, "nothing");
  CHECK(detached.id().empty());
  Span of_current("nothing either");  // no current session on this thread
  CHECK(of_current.id().empty());
}

TEST_CASE("span_end is recorded when the span is left by an exception", "[sdk][spans]") {
  Harness h;
  AgentError::copies = 0;
  const AgentError* thrown = nullptr;
  const AgentError* caught = nullptr;
  {
    Session s(h.options("span-throws"));
    try {
      Span sp(s, "risky");
      throw AgentError("step failed");
    } catch (const AgentError& e) {
      caught = &e;
      thrown = AgentError::last_constructed;
      CHECK(std::string(e.what()) == "step failed");
    }
    s.user_message("after the span");
  }
  CHECK(caught == thrown);
  CHECK(AgentError::copies == 0);
  auto events = h.events("span-throws");
  const json& end = span_marker(events, "span_end", "risky");
  CHECK(end.at("span_id") == span_marker(events, "span_start", "risky").at("span_id"));
  const json* after = find_event(events, "user_message", "content", "after the span");
  REQUIRE(after);
  CHECK_FALSE(after->contains("span_id"));  // popped despite the exception
  CHECK(events.back().at("payload").at("status") == "completed");  // caught inside the session
}

// ---- current() and Context --------------------------------------------------------------------

TEST_CASE("current() follows Session scopes and a new thread sees no session", "[sdk][context]") {
  Harness h;
  CHECK(current().id() == "noop");
  CHECK_FALSE(current().is_recording());
  {
    Session outer(h.options("outer"));
    CHECK(current().id() == "outer");
    {
      Session inner(h.options("inner"));
      CHECK(current().id() == "inner");
      std::string seen_in_thread;
      bool recorded_in_thread = true;
      std::thread t([&] {
        seen_in_thread = current().id();
        recorded_in_thread = current().user_message("lost");
      });
      t.join();
      CHECK(seen_in_thread == "noop");
      CHECK_FALSE(recorded_in_thread);
    }
    CHECK(current().id() == "outer");
  }
  CHECK(current().id() == "noop");
  CHECK(find_event(h.events("inner"), "user_message", "content", "lost") == nullptr);
}

TEST_CASE("a Context carries the session and its spans into another thread", "[sdk][context]") {
  Harness h;
  std::string outer_span, worker_span;
  std::string before_scope, inside_scope, after_scope;
  {
    Session s(h.options("ctx"));
    Span step(s, "dispatch");
    outer_span = step.id();
    Context ctx = Context::capture();
    std::thread t([&] {
      before_scope = current().id();
      {
        ContextScope scope(ctx);
        inside_scope = current().id();
        current().user_message("from worker");
        Span sub("worker-step");
        worker_span = sub.id();
        current().user_message("in worker span");
      }
      after_scope = current().id();
    });
    t.join();
    // The worker's spans never leak into this thread.
    s.user_message("back on main");
  }
  CHECK(before_scope == "noop");
  CHECK(inside_scope == "ctx");
  CHECK(after_scope == "noop");
  auto events = h.events("ctx");
  const json* from_worker = find_event(events, "user_message", "content", "from worker");
  REQUIRE(from_worker);
  CHECK(from_worker->at("span_id") == outer_span);
  CHECK(from_worker->at("parent_id").is_null());
  CHECK(span_marker(events, "span_start", "worker-step").at("parent_id") == outer_span);
  const json* in_span = find_event(events, "user_message", "content", "in worker span");
  REQUIRE(in_span);
  CHECK(in_span->at("span_id") == worker_span);
  CHECK(in_span->at("parent_id") == outer_span);
  const json* back = find_event(events, "user_message", "content", "back on main");
  REQUIRE(back);
  CHECK(back->at("span_id") == outer_span);
}

TEST_CASE("an empty Context hides the current session until its scope ends", "[sdk][context]") {
  Harness h;
  Session s(h.options("hidden"));
  {
    ContextScope scope{Context{}};
    CHECK(current().id() == "noop");
  }
  CHECK(current().id() == "hidden");
}

TEST_CASE("a session used directly from another thread records without span stamps", "[sdk][context]") {
  Harness h;
  {
    Session s(h.options("direct"));
    Span sp(s, "main-span");
    SessionHandle handle = s;
    std::thread t([handle] { CHECK(handle.user_message("from thread")); });
    t.join();
  }
  auto events = h.events("direct");
  const json* e = find_event(events, "user_message", "content", "from thread");
  REQUIRE(e);
  CHECK_FALSE(e->contains("span_id"));
}

// ---- wrappers ---------------------------------------------------------------------------------

TEST_CASE("observe runs each call in a new session with the reference event order", "[sdk][wrappers]") {
  Harness h;
  SessionOptions so;
  so.client = &h.client;
  so.user_goal = "book a meeting";
  auto book = observe("book_meeting", so, [](const std::string& day, int people) {
    current().user_message("checking " + day);
    return "booked " + day + " for " + std::to_string(people);
  });
  CHECK(book("Tuesday", 2) == "booked Tuesday for 2");
  CHECK(book("Friday", 3) == "booked Friday for 3");
  CHECK(current().id() == "noop");

  auto sessions = h.all_sessions();
  REQUIRE(sessions.size() == 2);
  bool saw_tuesday = false;
  for (const auto& events : sessions) {
    REQUIRE(sdk_test::types_of(events) ==
            std::vector<std::string>{"state_change", "tool_call", "user_message", "tool_result", "session_end"});
    CHECK(events[0].at("payload").at("name") == "session_started");
    CHECK(events[0].at("payload").at("after").at("agent") == "book_meeting");
    CHECK(events[0].at("payload").at("after").at("user_goal") == "book a meeting");
    const json& call = events[1].at("payload");
    CHECK(call.at("tool_name") == "book_meeting");
    const json& result = events[3].at("payload");
    CHECK(result.at("call_id") == call.at("call_id"));
    CHECK(result.at("error").is_null());
    if (call.at("arguments") == json{{"args", {"Tuesday", 2}}, {"kwargs", json::object()}}) {
      saw_tuesday = true;
      CHECK(result.at("result") == "booked Tuesday for 2");
    }
    CHECK(events[4].at("payload") == json{{"status", "completed"}, {"error", nullptr}});
  }
  CHECK(saw_tuesday);
}

TEST_CASE("observe records a failure and rethrows the same exception", "[sdk][wrappers]") {
  Harness h;
  SessionOptions so;
  so.client = &h.client;
  so.session_id = "observe-fails";
  auto validate = observe("validate", so, [](int value) -> int {
    if (value < 0) throw AgentError("bad input");
    return value;
  });
  AgentError::copies = 0;
  const AgentError* caught = nullptr;
  try {
    validate(-1);
  } catch (const AgentError& e) {
    caught = &e;
    CHECK(std::string(e.what()) == "bad input");
  }
  REQUIRE(caught != nullptr);
  CHECK(caught == AgentError::last_constructed);
  CHECK(AgentError::copies == 0);
  auto events = h.events("observe-fails");
  REQUIRE(sdk_test::types_of(events) ==
          std::vector<std::string>{"state_change", "tool_call", "tool_result", "session_end"});
  CHECK(events[1].at("payload").at("arguments") == json{{"args", {-1}}, {"kwargs", json::object()}});
  CHECK(events[2].at("payload") == json{{"call_id", events[1].at("payload").at("call_id")},
                                        {"result", nullptr},
                                        {"error", "sdk_scopes_types::AgentError: bad input"}});
  CHECK(events[3].at("payload") ==
        json{{"status", "failed"}, {"error", "sdk_scopes_types::AgentError: bad input"}});
}

TEST_CASE("tool records a tool call on the current session, or nothing without one", "[sdk][wrappers]") {
  Harness h;
  struct Opaque {
    int x = 0;
  };
  auto lookup = tool("lookup", [](const std::string& key, Opaque) { return json{{"key", key}, {"hits", 2}}; });
  auto notify = tool("notify", [](int) {});
  {
    Session s(h.options("tool"));
    CHECK(lookup("alpha", Opaque{}) == json{{"key", "alpha"}, {"hits", 2}});
    notify(7);
  }
  // Without a session the wrapped function still runs.
  json result;
  std::thread([&] { result = lookup("beta", Opaque{}); }).join();
  CHECK(result == json{{"key", "beta"}, {"hits", 2}});

  auto events = h.events("tool");
  REQUIRE(sdk_test::types_of(events) == std::vector<std::string>{"state_change", "tool_call", "tool_result",
                                                                  "tool_call", "tool_result", "session_end"});
  CHECK(events[1].at("payload").at("tool_name") == "lookup");
  CHECK(events[1].at("payload").at("arguments") ==
        json{{"args", {"alpha", "<unrepresentable>"}}, {"kwargs", json::object()}});
  CHECK(events[2].at("payload").at("result") == json{{"key", "alpha"}, {"hits", 2}});
  CHECK(events[2].at("payload").at("call_id") == events[1].at("payload").at("call_id"));
  CHECK(events[4].at("payload") ==
        json{{"call_id", events[3].at("payload").at("call_id")}, {"result", nullptr}, {"error", nullptr}});
}

TEST_CASE("tool records an exception in tool_result and rethrows it", "[sdk][wrappers]") {
  Harness h;
  auto fetch = tool("fetch", []() -> int { throw std::out_of_range("no such row"); });
  bool caught = false;
  {
    Session s(h.options("tool-throws"));
    try {
      fetch();
    } catch (const std::out_of_range& e) {
      caught = std::string(e.what()) == "no such row";
    }
  }
  CHECK(caught);
  auto events = h.events("tool-throws");
  const json* result = nullptr;
  for (const auto& e : events) {
    if (e.at("type") == "tool_result") result = &e;
  }
  REQUIRE(result);
  CHECK(result->at("payload").at("error") == "std::out_of_range: no such row");
  CHECK(result->at("payload").at("result").is_null());
  CHECK(events.back().at("payload").at("status") == "completed");  // handled inside the session
}

TEST_CASE("traced wraps each call in a span of the current session", "[sdk][wrappers]") {
  Harness h;
  auto plan = traced("plan", [](int n) {
    current().metric("steps", n);
    return n * 2;
  });
  CHECK(plan(4) == 8);  // no session: just runs
  {
    Session s(h.options("traced"));
    CHECK(plan(3) == 6);
  }
  auto events = h.events("traced");
  REQUIRE(sdk_test::types_of(events) ==
          std::vector<std::string>{"state_change", "state_change", "metric", "state_change", "session_end"});
  const json& start = span_marker(events, "span_start", "plan");
  const json& end = span_marker(events, "span_end", "plan");
  CHECK(events[2].at("span_id") == start.at("span_id"));
  CHECK(end.at("span_id") == start.at("span_id"));
  CHECK(events[2].at("payload").at("value") == 3.0);
}

// ---- exceptions through scopes ----------------------------------------------------------------

TEST_CASE("an exception leaving a Session records failed and reaches the host unchanged", "[sdk][exceptions]") {
  Harness h;
  AgentError::copies = 0;
  const AgentError* caught = nullptr;
  std::string id;
  try {
    Session s(h.options("fails"));
    s.user_message("working");
    throw AgentError("agent selected the wrong day");
  } catch (const AgentError& e) {
    caught = &e;
    CHECK(std::string(e.what()) == "agent selected the wrong day");
    CHECK(caught == AgentError::last_constructed);
  }
  REQUIRE(caught != nullptr);
  CHECK(AgentError::copies == 0);
  CHECK(current().id() == "noop");
  auto events = h.events("fails");
  REQUIRE(events.size() == 3);
  CHECK(events.back().at("type") == "session_end");
  CHECK(events.back().at("payload") ==
        json{{"status", "failed"}, {"error", "sdk_scopes_types::AgentError: agent selected the wrong day"}});
}

TEST_CASE("non-std exceptions pass through a Session and are described by type", "[sdk][exceptions]") {
  Harness h;
  int caught = 0;
  try {
    Session s(h.options("throws-int"));
    throw 42;
  } catch (int v) {
    caught = v;
  }
  CHECK(caught == 42);
  auto events = h.events("throws-int");
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().at("payload").at("status") == "failed");
  CHECK(events.back().at("payload").at("error") == "int");
}

TEST_CASE("an exception caught inside the Session leaves it completed", "[sdk][exceptions]") {
  Harness h;
  {
    Session s(h.options("recovers"));
    try {
      throw std::runtime_error("transient");
    } catch (const std::exception& e) {
      s.error(e);
    }
  }
  auto events = h.events("recovers");
  REQUIRE(events.size() == 3);
  CHECK(events[1].at("payload").at("message") == "transient");
  CHECK(events.back().at("payload") == json{{"status", "completed"}, {"error", nullptr}});
}

TEST_CASE("a Session opened during unwinding ends completed", "[sdk][exceptions]") {
  Harness h;
  struct Cleanup {
    Harness& h;
    ~Cleanup() {
      Session s(h.options("cleanup"));
      s.user_message("cleaning up");
    }
  };
  try {
    Session s(h.options("unwinding"));
    Cleanup c{h};
    throw std::runtime_error("outer failure");
  } catch (const std::runtime_error&) {
  }
  CHECK(h.events("cleanup").back().at("payload").at("status") == "completed");
  CHECK(h.events("unwinding").back().at("payload") ==
        json{{"status", "failed"}, {"error", "std::runtime_error: outer failure"}});
}

TEST_CASE("ToolCall records its result, its error, or the exception leaving its scope", "[sdk][exceptions]") {
  Harness h;
  AgentError::copies = 0;
  const AgentError* caught = nullptr;
  std::string ok_id, err_id, throw_id;
  {
    Session s(h.options("toolcall"));
    {
      ToolCall tc(s, "search", json{{"q", "tuesday"}});
      ok_id = tc.call_id();
      tc.set_result(json::array({"2pm", "3pm"}));
    }
    {
      ToolCall tc("book", json{{"slot", "2pm"}});  // of current()
      err_id = tc.call_id();
      tc.set_error("slot taken");
    }
    try {
      ToolCall tc(s, "pay");
      throw_id = tc.call_id();
      throw AgentError("card declined");
    } catch (const AgentError& e) {
      caught = &e;
    }
  }
  CHECK(caught == AgentError::last_constructed);
  CHECK(AgentError::copies == 0);
  auto events = h.events("toolcall");
  std::map<std::string, json> results;
  for (const auto& e : events) {
    if (e.at("type") == "tool_result") results[e.at("payload").at("call_id")] = e.at("payload");
  }
  REQUIRE(results.size() == 3);
  CHECK(results[ok_id] == json{{"call_id", ok_id}, {"result", {"2pm", "3pm"}}, {"error", nullptr}});
  CHECK(results[err_id] == json{{"call_id", err_id}, {"result", nullptr}, {"error", "slot taken"}});
  CHECK(results[throw_id] ==
        json{{"call_id", throw_id}, {"result", nullptr}, {"error", "sdk_scopes_types::AgentError: card declined"}});
  const json* call = find_event(events, "tool_call", "call_id", ok_id);
  REQUIRE(call);
  CHECK(call->at("payload").at("arguments") == json{{"q", "tuesday"}});
  CHECK(events.back().at("payload").at("status") == "completed");
}

TEST_CASE("a ToolCall of a no-op session does nothing", "[sdk][exceptions]") {
  ToolCall tc(SessionHandle{}, "nothing");
  CHECK(tc.call_id().empty());
  tc.set_result(1);
}

TEST_CASE("the wrappers can be called when const and copied into other threads", "[sdk][wrappers]") {
  Harness h;
  const auto add = tool("add", [](int a, int b) { return a + b; });
  const auto plan = traced("plan", [](int n) { return n + 1; });
  SessionOptions options = h.options("const-observed");
  const auto observed = observe("observed", options, [](int n) { return n * 10; });
  int counter = 0;
  auto counting = tool("count", [counter]() mutable { return ++counter; });  // callable when not const
  {
    Session s(h.options("const-wrappers"));
    CHECK(add(1, 2) == 3);
    CHECK(plan(1) == 2);
    CHECK(counting() == 1);
    CHECK(counting() == 2);
    // A copy in another thread (std::async decay-copies it), carried into the session there.
    const Context context = Context::capture();
    auto sum = std::async(std::launch::async, [add, context] {
      ContextScope scope(context);
      return add(20, 22);
    });
    CHECK(sum.get() == 42);
  }
  CHECK(std::async(std::launch::async, observed, 4).get() == 40);
  const auto events = h.events("const-wrappers");
  std::size_t tool_calls = 0;
  for (const auto& e : events) tool_calls += e.at("type") == "tool_call" ? 1 : 0;
  CHECK(tool_calls == 4);  // add, count, count, and add in the other thread
  CHECK(sdk_test::types_of(h.events("const-observed")).size() == 4);
}

TEST_CASE("guards and wrappers on a thread with no session are counted in no_session, not under sampling",
          "[sdk][context]") {
  Harness h;
  const auto before = h.client.stats().no_session;
  const auto add = tool("add", [](int a, int b) { return a + b; });
  const auto step = traced("step", [] { return 7; });
  int sum = 0, seven = 0;
  std::thread t([&] {
    ToolCall call("lookup", {{"q", 1}});
    Span span("outside");
    sum = add(2, 3);
    seven = step();
  });
  t.join();
  CHECK(sum == 5);
  CHECK(seven == 7);
  // ToolCall, Span, the tool wrapper and the traced wrapper (its Span).
  CHECK(h.client.stats().no_session - before == 4);

  // Inside a session, and inside one that head sampling left out, nothing is counted.
  Options sampled = sdk_test::spool_options(h.dir);
  sampled.sample_rate = 0.0;
  Client none(sampled);
  {
    Session recorded(h.options("with-session"));
    ToolCall call("lookup", {{"q", 2}});
    {
      // Nested and left out: what runs inside it is its own (nothing), not the outer session's.
      SessionOptions out = h.options("left-out");
      out.client = &none;
      Session left_out(out);
      CHECK_FALSE(current().is_recording());
      ToolCall inside_left_out("lookup", {{"q", 3}});
      CHECK(add(1, 1) == 2);
    }
    CHECK(current().id() == "with-session");
  }
  CHECK(h.client.stats().no_session - before == 4);
  CHECK(none.stats().sessions_sampled_out == 1);
  const auto recorded = h.events("with-session");
  CHECK(std::count_if(recorded.begin(), recorded.end(), [](const json& e) { return e["type"] == "tool_call"; }) == 1);
}
