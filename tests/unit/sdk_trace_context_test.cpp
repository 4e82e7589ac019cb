// A session in a W3C trace: an incoming traceparent joins the caller's trace and is recorded in
// session_started; spans and tool calls give the context for the calls they make.
#include <set>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/tool_call.hpp"
#include "promptetheus/trace_context.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;

namespace {

const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kCaller = "00f067aa0ba902b7";

struct TraceHarness {
  sdk_test::TempDir dir;
  Client client{sdk_test::spool_options(dir)};

  SessionOptions options(const std::string& id) {
    SessionOptions so;
    so.client = &client;
    so.session_id = id;
    so.agent = "traced";
    so.user_goal = "join a trace";
    return so;
  }
  std::vector<json> events(const std::string& id) {
    REQUIRE(client.flush(std::chrono::seconds(5)));
    return sdk_test::read_events(sdk_test::fs::path(dir.path) / "spool" / (id + ".jsonl"));
  }
};

// The 16 hex digits of an OpenTelemetry span id for a recorded "span_<32 hex>" id.
std::string otel_id(const std::string& span_id) { return span_id.substr(5, 16); }

}  // namespace

TEST_CASE("a session started by a traced request joins its trace and records it", "[sdk][trace_context]") {
  TraceHarness h;
  std::string session_parent, span_parent, tool_parent, span_id, after_span_parent;
  std::map<std::string, std::string> tool_headers;
  {
    SessionOptions so = h.options("joined");
    so.trace_context = TraceContext::extract(std::map<std::string, std::string>{
        {"Traceparent", "00-" + kTrace + "-" + kCaller + "-01"}, {"tracestate", "rojo=1"}});
    REQUIRE(so.trace_context.valid());
    Session s(so);
    const TraceContext root = s.trace_context();
    REQUIRE(root.valid());
    CHECK(root.trace_id() == kTrace);
    CHECK(root.sampled());
    CHECK(root.tracestate() == "rojo=1");
    session_parent = root.parent_id();
    {
      Span search(s, "search");
      span_id = search.id();
      span_parent = search.trace_context().parent_id();
      CHECK(search.trace_context().trace_id() == kTrace);
      ToolCall call(s, "calendar.search", json{{"day", "Tuesday"}});
      tool_parent = call.trace_context().parent_id();
      tool_headers = call.trace_context().headers();
      // The session's context on this thread is the innermost span's too.
      CHECK(s.trace_context().parent_id() == span_parent);
    }
    after_span_parent = s.trace_context().parent_id();
  }
  // The root span has its own id, not the caller's, and stays the same for the session.
  CHECK(session_parent.size() == 16);
  CHECK(session_parent != kCaller);
  CHECK(after_span_parent == session_parent);
  // Inside the span, calls are parented under it: its OpenTelemetry id is its id's first half.
  CHECK(span_parent == otel_id(span_id));
  CHECK(tool_parent == span_parent);
  CHECK(tool_headers.at("traceparent") == "00-" + kTrace + "-" + span_parent + "-01");
  CHECK(tool_headers.at("tracestate") == "rojo=1");

  const auto events = h.events("joined");
  REQUIRE_FALSE(events.empty());
  const json& started = events.front();
  REQUIRE(started.at("payload").at("name") == "session_started");
  CHECK(started.at("metadata").at("trace_id") == kTrace);
  CHECK(started.at("metadata").at("parent_span_id") == kCaller);
  CHECK(started.at("metadata").at("trace_flags") == "01");
  CHECK(started.at("metadata").at("tracestate") == "rojo=1");
}

TEST_CASE("a session without an incoming trace derives its trace from its id", "[sdk][trace_context]") {
  TraceHarness h;
  std::string first_trace, first_root, again_trace, other_trace;
  {
    Session s(h.options("derived"));
    first_trace = s.trace_context().trace_id();
    first_root = s.trace_context().parent_id();
  }
  {
    Session s(h.options("derived"));  // the same id gives the same trace
    again_trace = s.trace_context().trace_id();
    CHECK(s.trace_context().parent_id() == first_root);
  }
  {
    Session s(h.options("another"));
    other_trace = s.trace_context().trace_id();
  }
  CHECK(first_trace.size() == 32);
  CHECK(first_trace == again_trace);
  CHECK(first_trace != other_trace);
  const auto events = h.events("another");
  REQUIRE_FALSE(events.empty());
  CHECK_FALSE(events.front().contains("metadata"));  // nothing incoming, nothing recorded
}

TEST_CASE("trace context: user metadata wins, another thread sees the root, no-op gives none", "[sdk][trace_context]") {
  TraceHarness h;
  {
    SessionOptions so = h.options("mine");
    so.metadata = json{{"trace_id", "set by the user"}};
    so.trace_context = TraceContext::parse("00-" + kTrace + "-" + kCaller + "-00");
    Session s(so);
    CHECK_FALSE(s.trace_context().sampled());
    Span span(s, "outer");
    std::string from_thread;
    std::thread([&] { from_thread = s.trace_context().parent_id(); }).join();
    // Spans nest per thread: another thread's calls are parented under the root.
    CHECK(from_thread != span.trace_context().parent_id());
    CHECK(from_thread.size() == 16);
  }
  const auto events = h.events("mine");
  CHECK(events.front().at("metadata").at("trace_id") == "set by the user");
  CHECK(events.front().at("metadata").at("parent_span_id") == kCaller);
  CHECK(events.front().at("metadata").at("trace_flags") == "00");
  CHECK_FALSE(events.front().at("metadata").contains("tracestate"));

  SessionHandle none;
  CHECK_FALSE(none.trace_context().valid());
  Span noop(none, "nothing");
  CHECK_FALSE(noop.trace_context().valid());
  ToolCall call(none, "nothing");
  CHECK_FALSE(call.trace_context().valid());
}
