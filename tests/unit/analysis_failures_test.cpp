// Failures grouped across sessions by fingerprint (analysis/failures.hpp).
#include <catch2/catch.hpp>

#include "analysis/failures.hpp"

using namespace promptetheus::analysis;

namespace {

SessionFailure session(const std::string& id, const std::string& agent, const std::string& started,
                       const std::string& fingerprint) {
  SessionFailure s;
  s.session_id = id;
  s.agent = agent;
  if (!started.empty()) s.started_at = started;
  if (!fingerprint.empty()) {
    s.fingerprint.is_failure = true;
    s.fingerprint.fingerprint = fingerprint;
    s.fingerprint.label = "label of " + fingerprint + " from " + id;
    s.fingerprint.signals = {"signal:" + id};
  }
  return s;
}

}  // namespace

TEST_CASE("failures are grouped by fingerprint with counts, first and last seen", "[analysis][failures]") {
  const std::vector<SessionFailure> sessions{
      session("a1", "agent-b", "2026-01-02T10:00:00.000000Z", "aaaaaaaaaaaa"),
      session("ok", "agent-a", "2026-01-02T11:00:00.000000Z", ""),  // no failure: left out
      session("b1", "agent-a", "2026-01-02T09:00:00.000000Z", "bbbbbbbbbbbb"),
      session("a2", "agent-a", "2026-01-03T08:00:00.000000Z", "aaaaaaaaaaaa"),
      session("c1", "agent-c", "2026-01-04T08:00:00.000000Z", "cccccccccccc"),
      session("a3", "agent-b", "", "aaaaaaaaaaaa"),  // no timestamp: the oldest
  };
  const std::vector<FailureGroup> groups = group_failures(sessions);
  REQUIRE(groups.size() == 3);
  const FailureGroup& a = groups[0];
  CHECK(a.fingerprint == "aaaaaaaaaaaa");
  CHECK(a.count == 3);
  CHECK(a.sessions == std::vector<std::string>{"a2", "a1", "a3"});
  CHECK(a.label == "label of aaaaaaaaaaaa from a2");  // the most recent session's
  CHECK(a.signals == std::vector<std::string>{"signal:a2"});
  CHECK(a.first_seen == "2026-01-02T10:00:00.000000Z");
  CHECK(a.last_seen == "2026-01-03T08:00:00.000000Z");
  CHECK(a.agents == std::vector<std::string>{"agent-a", "agent-b"});
  // Equal counts: the most recently seen first.
  CHECK(groups[1].fingerprint == "cccccccccccc");
  CHECK(groups[2].fingerprint == "bbbbbbbbbbbb");

  const auto j = failure_group_json(a, 2);
  CHECK(j["count"] == 3);
  CHECK(j["sessions"] == nlohmann::ordered_json::array({"a2", "a1"}));
  CHECK(j["first_seen"] == "2026-01-02T10:00:00.000000Z");
  CHECK(group_failures({}).empty());
}
