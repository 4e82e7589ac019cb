#include "analysis/failure_context.hpp"

#include <algorithm>
#include <unordered_map>

#include "analysis/fingerprint.hpp"
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

}  // namespace

json failure_context(const Session& session, const FailureContextOptions& options) {
  // Only the entries shown before the failure need their text: written below.
  Timeline timeline = build_timeline(session.events, options.prices, EntryText::none);
  const Fingerprint fp = fingerprint_v1(session.events);
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
  std::unordered_map<std::string, const Event*> calls;  // call_id → its tool_call
  json end = nullptr;
  std::optional<std::size_t> first_failure;

  for (std::size_t i = 0; i < timeline.entries.size(); ++i) {
    const TimelineEntry& entry = timeline.entries[i];
    const Event& e = *entry.event;
    if (entry.failure && !first_failure) first_failure = i;
    const std::string& type = entry.type;
    if (type == "tool_call") {
      const JsonView call_id = e.payload_get("call_id");
      if (call_id.is_string()) calls[call_id.as_string()] = &e;
    } else if (type == "tool_result" && entry.failure) {
      if (!tool_failures.has_room()) {
        tool_failures.drop();
        continue;
      }
      const JsonView call_id = e.payload_get("call_id");
      const auto call = call_id.is_string() ? calls.find(call_id.as_string()) : calls.end();
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
