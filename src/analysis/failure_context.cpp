#include "analysis/failure_context.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

#include "analysis/fingerprint.hpp"
#include "analysis/run_beside.hpp"
#include "analysis/timeline.hpp"

namespace promptetheus::analysis {

namespace {

using json = nlohmann::json;

// A bounded list: keeps the first `max` items and counts the rest in "omitted".
class BoundedList {
 public:
  BoundedList(const char* name, std::size_t max) : name_(name), max_(max) {}
  bool has_room() const { return items_.size() < max_; }
  void add(json item) {
    if (has_room()) {
      items_.push_back(std::move(item));
    } else {
      ++dropped_;
    }
  }
  void drop() { ++dropped_; }
  void store(json& out, json& omitted) {
    out[name_] = std::move(items_);
    if (dropped_ > 0) omitted[name_] = dropped_;
  }

 private:
  const char* name_;
  std::size_t max_;
  json items_ = json::array();
  std::size_t dropped_ = 0;
};

json seq_of(const Event& e) { return view_to_json(e.seq); }

json member(const Event& e, const char* key, const JsonBounds& bounds) {
  return bounded(view_to_json(e.payload_get(key)), bounds);
}

// The call of each of the first `max` failed tool_results: the last tool_call before it with
// its call_id. Two passes, so that only the ids of failed results are indexed, not the calls of
// the results that passed (nearly all of them in a long run).
std::unordered_map<const Event*, const Event*> calls_of_failed_results(const Timeline& timeline, std::size_t max) {
  // failed call_id → the latest call so far; few ids, looked up by view without a copy.
  std::map<std::string, const Event*, std::less<>> latest_call;
  std::size_t end = 0;  // past the last of those results: the calls after it are not needed
  for (std::size_t i = 0; i < timeline.entries.size() && latest_call.size() < max; ++i) {
    const TimelineEntry& entry = timeline.entries[i];
    if (entry.type != "tool_result" || !entry.failure) continue;
    const JsonView call_id = entry.event->payload_get("call_id");
    if (call_id.is_string()) latest_call.emplace(call_id.as_string(), nullptr);
    end = i + 1;
  }
  std::unordered_map<const Event*, const Event*> calls;
  if (latest_call.empty()) return calls;
  for (std::size_t i = 0; i < end; ++i) {
    const TimelineEntry& entry = timeline.entries[i];
    const bool call = entry.type == "tool_call";
    if (!call && (entry.type != "tool_result" || !entry.failure)) continue;
    const JsonView call_id = entry.event->payload_get("call_id");
    if (!call_id.is_string()) continue;
    std::string_view plain;
    const auto found = call_id.plain_string(plain) ? latest_call.find(plain) : latest_call.find(call_id.as_string());
    if (found == latest_call.end()) continue;
    if (call) {
      found->second = entry.event;
    } else if (found->second != nullptr) {
      calls.emplace(entry.event, found->second);
    }
  }
  return calls;
}

}  // namespace

json failure_context(const Session& session, const FailureContextOptions& options) {
  // Only the entries shown before the failure need their text: written below. The fingerprint
  // is computed beside the timeline: both read every event of what may be a 100,000-event run.
  Fingerprint fp;
  Timeline timeline = run_beside([&] { fp = fingerprint_v1(session.events); },
                                 [&] { return build_timeline(session.events, options.prices, EntryText::none); });
  const JsonBounds& bounds = options.bounds;

  json out = json::object();
  out["session"] = bounded(json(overview_json(timeline.overview)), bounds);
  out["failed"] = fp.is_failure;
  out["fingerprint"] = {{"fingerprint", fp.fingerprint.empty() ? json(nullptr) : json(fp.fingerprint)},
                        {"label", fp.label},
                        {"signals", fp.signals}};

  BoundedList tool_failures("failed_tool_calls", options.max_items);
  BoundedList errors("errors", options.max_items);
  BoundedList goal_checks("failed_goal_checks", options.max_items);
  BoundedList screenshots("screenshots", options.max_items);
  const std::unordered_map<const Event*, const Event*> calls = calls_of_failed_results(timeline, options.max_items);
  json end = nullptr;
  std::optional<std::size_t> first_failure;

  for (std::size_t i = 0; i < timeline.entries.size(); ++i) {
    const TimelineEntry& entry = timeline.entries[i];
    const Event& e = *entry.event;
    if (entry.failure && !first_failure) first_failure = i;
    const std::string& type = entry.type;
    if (type == "tool_result" && entry.failure) {
      if (!tool_failures.has_room()) {
        tool_failures.drop();
        continue;
      }
      const JsonView call_id = e.payload_get("call_id");
      const auto call = calls.find(&e);
      const Event* c = call != calls.end() ? call->second : nullptr;
      tool_failures.add(json{{"seq", seq_of(e)},
                             {"call_seq", c ? seq_of(*c) : json(nullptr)},
                             {"tool_name", c ? member(*c, "tool_name", bounds) : json(nullptr)},
                             {"call_id", bounded(view_to_json(call_id), bounds)},
                             {"span_id", bounded(view_to_json(e.span_id), bounds)},
                             {"arguments", c ? member(*c, "arguments", bounds) : json(nullptr)},
                             {"result", member(e, "result", bounds)},
                             {"error", member(e, "error", bounds)}});
    } else if (type == "error") {
      if (!errors.has_room()) {
        errors.drop();
        continue;
      }
      errors.add(json{{"seq", seq_of(e)},
                      {"error_type", member(e, "error_type", bounds)},
                      {"message", member(e, "message", bounds)},
                      {"handled", member(e, "handled", bounds)},
                      {"traceback", member(e, "traceback", bounds)}});
    } else if (type == "goal_check" && entry.failure) {
      goal_checks.add(json{{"seq", seq_of(e)}, {"mismatches", member(e, "mismatches", bounds)}});
    } else if (type == "session_end") {
      end = json{{"seq", seq_of(e)}, {"status", member(e, "status", bounds)}, {"error", member(e, "error", bounds)}};
    } else if (type == "screenshot" || type == "replay_artifact") {
      screenshots.add(json{{"seq", seq_of(e)},
                           {"type", type},
                           {"artifact_id", member(e, "artifact_id", bounds)},
                           {"storage_path", member(e, "storage_path", bounds)},
                           {"source", member(e, "source", bounds)},
                           {"size_bytes", member(e, "size_bytes", bounds)}});
    }
  }

  json omitted = json::object();
  out["end"] = std::move(end);
  tool_failures.store(out, omitted);
  errors.store(out, omitted);
  goal_checks.store(out, omitted);

  json before = json::array();
  if (first_failure) {
    const std::size_t stop = *first_failure;
    const std::size_t start = stop > options.events_before ? stop - options.events_before : 0;
    out["first_failure_seq"] = seq_of(*timeline.entries[stop].event);
    for (std::size_t i = start; i <= stop; ++i) {
      describe_entry(timeline, i, options.prices);
      const TimelineEntry& entry = timeline.entries[i];
      before.push_back(json{{"seq", seq_of(*entry.event)},
                            {"type", entry.type},
                            {"offset_ms", entry.offset_ms ? json(*entry.offset_ms) : json(nullptr)},
                            {"text", entry.text},
                            {"failure", entry.failure}});
    }
  } else {
    out["first_failure_seq"] = nullptr;
  }
  out["events_before_failure"] = std::move(before);
  screenshots.store(out, omitted);
  out["omitted"] = std::move(omitted);
  return out;
}

}  // namespace promptetheus::analysis
