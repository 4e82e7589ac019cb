#include "analysis/reports.hpp"

#include <algorithm>
#include <cmath>

#include "analysis/pyrepr.hpp"
#include "analysis/replay.hpp"

namespace promptetheus::analysis {

namespace {

using ojson = nlohmann::ordered_json;

/// A JSON value for seq/type: the stored value when it is a string or integer, else its text.
ojson scalar(const JsonView& v) {
  if (!v.present() || v.is_null()) return nullptr;
  if (v.is_string()) return v.as_string();
  if (v.is_integer_literal()) {
    ojson parsed = ojson::parse(v.raw(), nullptr, false);
    if (!parsed.is_discarded()) return parsed;
  }
  return pyrepr(v);
}

std::string line_text(const Event& e) {
  std::string s;
  append_event_line(s, e);
  return s;
}

ojson node_json(const TraceForest& forest, std::size_t index, int depth_budget) {
  const SpanNode& n = forest.nodes[index];
  ojson j;
  j["span_id"] = n.is_root ? ojson(nullptr) : ojson(n.span_id);
  j["name"] = n.name ? ojson(*n.name) : ojson(nullptr);
  j["duration_ms"] = n.duration_ms && std::isfinite(*n.duration_ms) ? ojson(*n.duration_ms) : ojson(nullptr);
  ojson events = ojson::array();
  for (const Event* e : n.events) {
    if (!e->is_span_marker()) events.push_back(line_text(*e));
  }
  j["events"] = std::move(events);
  ojson children = ojson::array();
  if (depth_budget > 0) {
    for (std::size_t c : n.children) children.push_back(node_json(forest, c, depth_budget - 1));
  }
  j["children"] = std::move(children);
  return j;
}

}  // namespace

ojson read_stats_json(const Session& s) {
  ojson j;
  j["source"] = s.source;
  j["events"] = s.events.size();
  j["lines"] = s.stats.lines;
  j["blank_lines"] = s.stats.blank;
  j["malformed_lines"] = s.stats.malformed;
  j["non_object_events"] =
      std::count_if(s.events.begin(), s.events.end(), [](const Event& e) { return !e.is_object(); });
  j["unreadable"] = s.stats.unreadable;
  if (s.stats.unreadable) j["error"] = s.stats.error;
  return j;
}

ojson replay_flat_json(const Session& s) {
  ojson j;
  j["mode"] = "flat";
  j["read"] = read_stats_json(s);
  // Same ordering and depth rules as render_flat.
  std::vector<std::pair<long double, const Event*>> order;
  for (const auto& e : s.events) {
    if (e.is_object()) {
      long double k = flat_seq_key(e.seq);
      order.emplace_back(k != k ? 0 : k, &e);
    }
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  ojson lines = ojson::array();
  std::size_t depth = 0;
  for (const auto& [key, e] : order) {
    const bool start = e->is_span_start();
    if (!start && e->is_span_end() && depth > 0) --depth;
    ojson line;
    line["depth"] = depth;
    line["seq"] = scalar(e->seq);
    line["type"] = scalar(e->type);
    line["text"] = line_text(*e);
    lines.push_back(std::move(line));
    if (start) ++depth;
  }
  j["lines"] = std::move(lines);
  return j;
}

ojson replay_tree_json(const Session& s) {
  ojson j;
  j["mode"] = "tree";
  j["read"] = read_stats_json(s);
  const TraceForest forest = build_trace_forest(s.events);
  ojson roots = ojson::array();
  // nlohmann serialises recursively; bound the depth so hostile nesting cannot overflow.
  for (std::size_t r : forest.roots) roots.push_back(node_json(forest, r, 200));
  j["roots"] = std::move(roots);
  return j;
}

ojson fingerprint_json(const Fingerprint& fp, const Session& s) {
  ojson j;
  j["is_failure"] = fp.is_failure;
  j["fingerprint"] = fp.fingerprint;
  j["label"] = fp.label;
  j["signals"] = fp.signals;
  j["version"] = 1;
  j["read"] = read_stats_json(s);
  return j;
}

ojson diff_json(const SessionDiff& d, const Session& a, const Session& b) {
  ojson j;
  j["regressed"] = d.regressed;
  j["identical"] = d.empty();
  auto labels = [](const std::vector<Step>& steps) {
    ojson arr = ojson::array();
    for (const Step& s : steps) arr.push_back({{"key", s.key}, {"label", s.label}, {"ok", s.ok}});
    return arr;
  };
  j["added"] = labels(d.added);
  j["removed"] = labels(d.removed);
  ojson changed = ojson::array();
  for (const StepChange& c : d.changed) changed.push_back({{"detail", c.detail}, {"regressed", c.regressed}});
  j["changed"] = std::move(changed);
  j["summary"] = d.summary();
  j["a"] = read_stats_json(a);
  j["b"] = read_stats_json(b);
  return j;
}

}  // namespace promptetheus::analysis
