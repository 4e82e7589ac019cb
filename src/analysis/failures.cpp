#include "analysis/failures.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "core/ids.hpp"

namespace promptetheus::analysis {

namespace {

// Microseconds of a start time, for ordering; sessions without one come first (the oldest).
std::int64_t start_key(const SessionFailure& s) {
  if (!s.started_at) return std::numeric_limits<std::int64_t>::min();
  return detail::parse_timestamp(*s.started_at).value_or(std::numeric_limits<std::int64_t>::min());
}

}  // namespace

std::vector<FailureGroup> group_failures(const std::vector<SessionFailure>& sessions) {
  // Most recent first, so each group lists its sessions in that order.
  std::vector<const SessionFailure*> order;
  for (const SessionFailure& s : sessions) {
    if (s.fingerprint.is_failure) order.push_back(&s);
  }
  std::stable_sort(order.begin(), order.end(), [](const SessionFailure* a, const SessionFailure* b) {
    return start_key(*a) > start_key(*b);
  });

  std::map<std::string, FailureGroup> by_fingerprint;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> seen;  // first, last
  std::map<std::string, std::set<std::string>> agents;
  for (const SessionFailure* s : order) {
    FailureGroup& g = by_fingerprint[s->fingerprint.fingerprint];
    const std::int64_t key = start_key(*s);
    if (g.count == 0) {  // the most recent session of the group
      g.fingerprint = s->fingerprint.fingerprint;
      g.label = s->fingerprint.label;
      g.signals = s->fingerprint.signals;
      g.last_seen = s->started_at;
      seen[g.fingerprint] = {key, key};
    }
    ++g.count;
    g.sessions.push_back(s->session_id);
    if (s->started_at && key <= seen[g.fingerprint].first) {
      seen[g.fingerprint].first = key;
      g.first_seen = s->started_at;
    }
    if (s->agent) agents[g.fingerprint].insert(*s->agent);
  }

  std::vector<FailureGroup> groups;
  groups.reserve(by_fingerprint.size());
  for (auto& [fingerprint, g] : by_fingerprint) {
    const auto& names = agents[fingerprint];
    g.agents.assign(names.begin(), names.end());
    groups.push_back(std::move(g));
  }
  std::sort(groups.begin(), groups.end(), [&](const FailureGroup& a, const FailureGroup& b) {
    // count descending, last seen descending, fingerprint ascending
    return std::make_tuple(b.count, seen.at(b.fingerprint).second, a.fingerprint) <
           std::make_tuple(a.count, seen.at(a.fingerprint).second, b.fingerprint);
  });
  return groups;
}

nlohmann::ordered_json failure_group_json(const FailureGroup& g, std::size_t max_sessions) {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["fingerprint"] = g.fingerprint;
  j["label"] = g.label;
  j["signals"] = g.signals;
  j["count"] = g.count;
  j["first_seen"] = g.first_seen ? ojson(*g.first_seen) : ojson(nullptr);
  j["last_seen"] = g.last_seen ? ojson(*g.last_seen) : ojson(nullptr);
  j["agents"] = g.agents;
  const std::size_t shown = std::min(max_sessions, g.sessions.size());
  j["sessions"] = std::vector<std::string>(g.sessions.begin(), g.sessions.begin() + static_cast<std::ptrdiff_t>(shown));
  return j;
}

}  // namespace promptetheus::analysis
