// What the worker hands a transport: each event's JSON with its type, seq, idempotency key and
// its session's trace body beside it, so that no transport parses an event for them; and the
// same facts read back from a spool line in one streaming pass.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/trace_body.hpp"
#include "promptetheus/client.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/transport.hpp"
#include "transport/spool_line.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;

namespace {

// Keeps a copy of every event it is handed, and delivers them.
class KeepingTransport : public Transport {
 public:
  void send(std::vector<EncodedEvent>& events, const Deadline&) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& e : events) {
      e.outcome = DeliveryOutcome::delivered;
      kept_.push_back(e);
    }
  }
  std::vector<EncodedEvent> kept() {
    std::lock_guard<std::mutex> lock(mutex_);
    return kept_;
  }

 private:
  std::mutex mutex_;
  std::vector<EncodedEvent> kept_;
};

std::vector<EncodedEvent> record_a_session(SessionOptions options) {
  auto transport = std::make_shared<KeepingTransport>();
  Options o;
  o.transport_factory = sdk_test::shared_transport(transport);
  Client client(o);
  options.client = &client;
  {
    Session session(std::move(options));
    session.user_message("hello");
    session.tool_call("calendar.search", json{{"day", "tuesday"}});
    session.metric("latency_ms", 12.5);
  }
  REQUIRE(client.shutdown(std::chrono::seconds(5)));
  return transport->kept();
}

}  // namespace

TEST_CASE("every encoded event carries its type, key and its session's one trace body", "[sdk][encoded]") {
  SessionOptions options;
  options.agent = "calendar-agent";
  options.user_goal = "Book Tuesday \xc3\xa0 2pm";
  options.environment = "test";
  options.metadata = json{{"run", 7}, {"nested", {{"deep", {1, 2.5, "x"}}}}};
  options.tags = {"demo", "b", "demo"};
  const auto events = record_a_session(options);
  REQUIRE(events.size() == 5);  // session_started, 3 helpers, session_end

  const EncodedEvent* started = nullptr;
  for (const auto& e : events) {
    const json line = json::parse(e.json);
    INFO(e.json);
    CHECK(e.type == line["type"].get<std::string>());
    CHECK(e.idempotency_key == line["idempotency_key"].get<std::string>());
    CHECK(e.seq == line["seq"].get<std::uint64_t>());
    CHECK(e.session_id == line["session_id"].get<std::string>());
    REQUIRE(e.trace_body);
    // One body per session, shared, not a copy per event.
    CHECK(e.trace_body.get() == events.front().trace_body.get());
    if (e.starts_session) started = &e;
  }
  REQUIRE(started != nullptr);
  // The body the SDK built at the start is the one a replay rebuilds from the spool line.
  const std::string from_line = detail::trace_body_from_event(json::parse(started->json));
  CHECK(*started->trace_body == from_line);
  const json body = json::parse(*started->trace_body);
  CHECK(body["agent"] == "calendar-agent");
  CHECK(body["environment"] == "test");
  CHECK(body["project_id"].is_null());
  CHECK(body["metadata"] == options.metadata);
  CHECK(body["tags"] == json::array({"demo", "b"}));
  CHECK(body["user_goal"] == options.user_goal);
}

TEST_CASE("a session's trace body bounds the depth of its metadata", "[sdk][encoded]") {
  SessionOptions options;
  options.agent = "deep";
  options.metadata = json::object();
  options.metadata["deep"] = sdk_test::nested_json(100000, true);  // moved in: no recursive copy
  const auto events = record_a_session(std::move(options));
  REQUIRE_FALSE(events.empty());
  REQUIRE(events.front().trace_body);
  const json body = json::parse(*events.front().trace_body);
  // The metadata object and 127 levels under it, then the marker where the rest was cut.
  const json* at = &body["metadata"];
  int containers = 0;
  while (at->is_object() && at->size() == 1) {
    ++containers;
    at = &at->begin().value();
  }
  CHECK(containers == 128);
  CHECK(*at == "[truncated: nested deeper than 128 levels]");
}

TEST_CASE("a spool line gives back the facts without a document", "[spool][encoded]") {
  const std::string started =
      R"({"idempotency_key":"S:1a2b3c4d:0","metadata":{"run":7},"payload":{"after":{"agent":"a",)"
      R"("environment":null,"project_id":null,"tags":["t"],"user_goal":"g"},"before":null,)"
      R"("name":"session_started"},"seq":0,"session_id":"S","timestamp":"2026-11-21T20:42:43.441411Z","type":"state_change"})";
  EncodedEvent e;
  REQUIRE(detail::parse_spool_line(started + "\r", "fallback", e));
  CHECK(e.session_id == "S");
  CHECK(e.seq == 0);
  CHECK(e.type == "state_change");
  CHECK(e.idempotency_key == "S:1a2b3c4d:0");
  CHECK(e.starts_session);
  CHECK_FALSE(e.ends_session);
  CHECK(e.json == started);
  REQUIRE(e.trace_body);
  CHECK(*e.trace_body == detail::trace_body_from_event(json::parse(started)));

  // The payload's own "name" decides, not a "name" deeper down or elsewhere.
  EncodedEvent other;
  REQUIRE(detail::parse_spool_line(
      R"({"idempotency_key":"S:1:3","payload":{"after":{"name":"session_started"},"name":"span_start"},)"
      R"("seq":3,"session_id":"S","type":"state_change"})",
      "fallback", other));
  CHECK_FALSE(other.starts_session);
  CHECK_FALSE(other.trace_body);
  CHECK(other.seq == 3);

  EncodedEvent end;
  REQUIRE(detail::parse_spool_line(R"({"payload":{"status":"completed"},"seq":9,"type":"session_end"})", "F", end));
  CHECK(end.ends_session);
  CHECK(end.session_id == "F");  // from the file when the line has none
  CHECK(end.idempotency_key.empty());
  CHECK(end.type == "session_end");

  EncodedEvent unknown;
  REQUIRE(detail::parse_spool_line(R"({"type":"not_a_type","session_id":"S","seq":1})", "F", unknown));
  CHECK(unknown.type.empty());

  EncodedEvent bad;
  CHECK_FALSE(detail::parse_spool_line("", "F", bad));
  CHECK_FALSE(detail::parse_spool_line("[1,2]", "F", bad));
  CHECK_FALSE(detail::parse_spool_line(R"({"type":"metric")", "F", bad));
  CHECK_FALSE(detail::parse_spool_line(R"({"type":"metric"} trailing)", "F", bad));
  // A line nested far deeper than any stack could recurse is read without recursion.
  const std::string deep =
      R"({"payload":)" + std::string(200000, '[') + std::string(200000, ']') + R"(,"seq":4})";
  EncodedEvent nested;
  REQUIRE(detail::parse_spool_line(deep, "F", nested));
  CHECK(nested.seq == 4);
}
