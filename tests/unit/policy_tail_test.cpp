// Tail sampling as the SDK applies it (Options::tail_sample): every failed session of a mixed
// workload is kept whole, boring ones at the configured rate and no others; what is dropped is
// counted; a session past a bound of what is held is decided early as kept; the skeleton on drop;
// sessions still open at shutdown are kept.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/policy.hpp"
#include "promptetheus/promptetheus.hpp"
#include "sdk_test_support.hpp"

namespace {

namespace pt = promptetheus;
using nlohmann::json;

using sdk_test::Collector;

pt::Options tail_options(const std::shared_ptr<Collector>& collector) {
  pt::Options options;
  options.tail_sample = true;
  options.transport_factory = sdk_test::shared_transport(collector);
  options.flush_at_exit = false;
  return options;
}

enum class Outcome { boring, error, failed_goal, failed_end };

// 5 events: session_started, user_message, tool_call, (error | goal_check | agent_message), end.
void record(pt::Client& client, const std::string& id, Outcome outcome) {
  pt::Session session(sdk_test::session_on(client, id));
  session.user_message("book a room");
  session.tool_call("rooms.search", {{"day", "tue"}});
  switch (outcome) {
    case Outcome::boring: session.agent_message("booked"); break;
    case Outcome::error: session.error("the room service is down", "ServiceError"); break;
    case Outcome::failed_goal: session.goal_check(false, {"no room"}); break;
    case Outcome::failed_end: session.agent_message("gave up"); break;
  }
  if (outcome == Outcome::failed_end) {
    session.end("failed", "no room");
  } else {
    session.end();
  }
}

}  // namespace

TEST_CASE("tail sampling keeps every failed session whole and boring ones at the configured rate",
          "[policy][tail]") {
  auto collector = std::make_shared<Collector>();
  pt::Options options = tail_options(collector);
  options.sample_rate = 0.0;  // head sampling must not hide a failure under tail sampling
  options.tail_policy.boring_success_keep_rate = 0.3;
  constexpr int kSessions = 800;
  std::map<std::string, Outcome> outcomes;
  pt::Stats stats;
  {
    pt::Client client(options);
    for (int i = 0; i < kSessions; ++i) {
      const std::string id = "sess-tail-" + std::to_string(i);
      const Outcome outcome = static_cast<Outcome>(i % 4 == 0 ? 1 + (i / 4) % 3 : 0);
      outcomes[id] = outcome;
      record(client, id, outcome);
    }
    REQUIRE(client.shutdown(std::chrono::seconds(30)));
    stats = client.stats();
  }
  const auto sessions = collector->by_session();
  std::size_t kept_boring = 0, failed = 0, dropped_events = 0;
  for (const auto& [id, outcome] : outcomes) {
    INFO(id);
    const auto it = sessions.find(id);
    if (outcome != Outcome::boring) {
      ++failed;
      REQUIRE(it != sessions.end());
      CHECK(it->second.size() == 5);  // whole
      continue;
    }
    const bool expected = pt::policy::hash_fraction(id) < 0.3;
    CHECK((it != sessions.end()) == expected);
    if (expected) {
      ++kept_boring;
      CHECK(it->second.size() == 5);
    } else {
      dropped_events += 5;
    }
  }
  CHECK(failed == kSessions / 4);
  CHECK(kept_boring > 120);  // about 30% of 600
  CHECK(kept_boring < 240);
  CHECK(stats.tail_dropped == dropped_events);
  CHECK(stats.tail_held == 0);
  CHECK(stats.sessions_sampled_out == 0);
  CHECK(stats.enqueued == 5u * kSessions);
  CHECK(stats.delivered + stats.tail_dropped == stats.enqueued);
}

TEST_CASE("a session past a bound of what tail sampling holds is decided early as kept, and counted",
          "[policy][tail]") {
  auto collector = std::make_shared<Collector>();
  pt::Options options = tail_options(collector);
  options.tail_policy.boring_success_keep_rate = 0.0;  // boring sessions are dropped...
  options.tail_max_session_events = 6;                 // ...unless they hold more than 6 events
  pt::Stats stats;
  {
    pt::Client client(options);
    {
      pt::Session session(sdk_test::session_on(client, "sess-long"));
      for (int i = 0; i < 20; ++i) session.agent_message("step " + std::to_string(i));
    }
    record(client, "sess-short", Outcome::boring);
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
    stats = client.stats();
  }
  auto sessions = collector->by_session();
  REQUIRE(sessions.count("sess-long") == 1);
  const auto& events = sessions["sess-long"];
  CHECK(events.size() == 22);  // every one of them: none dropped after the early decision
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i]["seq"] == i);
  CHECK(sessions.count("sess-short") == 0);
  CHECK(stats.tail_decided_early == 1);
  CHECK(stats.tail_dropped == 5);
}

TEST_CASE("the total bound of what tail sampling holds keeps the oldest session early", "[policy][tail]") {
  auto collector = std::make_shared<Collector>();
  pt::Options options = tail_options(collector);
  options.tail_policy.boring_success_keep_rate = 0.0;
  options.tail_max_bytes = 4000;
  options.flush_interval = std::chrono::milliseconds(10);
  pt::Stats stats;
  {
    pt::Client client(options);
    pt::Session first(sdk_test::session_on(client, "sess-first"));
    first.agent_message(std::string(2000, 'a'));
    REQUIRE(client.flush(std::chrono::seconds(5)));
    pt::Session second(sdk_test::session_on(client, "sess-second"));
    second.agent_message(std::string(2000, 'b'));
    REQUIRE(client.flush(std::chrono::seconds(5)));
    // Now past 4000 bytes held: the first session is released early, the second still held.
    stats = client.stats();
    CHECK(stats.tail_decided_early == 1);
    first.end();
    second.end();
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
    stats = client.stats();
  }
  auto sessions = collector->by_session();
  CHECK(sessions["sess-first"].size() == 3);
  CHECK(sessions.count("sess-second") == 0);
  CHECK(stats.tail_dropped == 3);
}

TEST_CASE("the skeleton on drop: the first event and the annotated session_end", "[policy][tail]") {
  auto collector = std::make_shared<Collector>();
  pt::Options options = tail_options(collector);
  options.tail_policy.boring_success_keep_rate = 0.0;
  options.tail_policy.emit_skeleton_on_drop = true;
  pt::Stats stats;
  {
    pt::Client client(options);
    record(client, "sess-skeleton", Outcome::boring);
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
    stats = client.stats();
  }
  auto sessions = collector->by_session();
  const auto& events = sessions["sess-skeleton"];
  REQUIRE(events.size() == 2);
  CHECK(events[0]["payload"]["name"] == "session_started");
  CHECK(events[1]["type"] == "session_end");
  CHECK(events[1]["seq"] == 4);
  CHECK(events[1]["payload"] == json{{"status", "completed"},
                                     {"error", nullptr},
                                     {"tail_dropped", true},
                                     {"tail_drop_reason", "boring success (dropped)"},
                                     {"tail_dropped_event_count", 5}});
  CHECK(stats.tail_dropped == 3);
}

TEST_CASE("sessions tail sampling still holds at shutdown are kept", "[policy][tail]") {
  auto collector = std::make_shared<Collector>();
  pt::Options options = tail_options(collector);
  options.tail_policy.boring_success_keep_rate = 0.0;
  pt::Stats stats;
  {
    pt::Client client(options);
    pt::Session open(sdk_test::session_on(client, "sess-open"));
    open.agent_message("still working");
    REQUIRE(client.flush(std::chrono::seconds(5)));
    CHECK(client.stats().tail_held == 2);
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
    stats = client.stats();
  }
  CHECK(collector->by_session()["sess-open"].size() == 2);
  CHECK(stats.tail_held == 0);
  CHECK(stats.tail_dropped == 0);
  CHECK(stats.delivered == 2);
}
