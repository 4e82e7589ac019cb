#include "analysis/diff.hpp"

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "analysis/pyrepr.hpp"
#include "analysis/python_number.hpp"
#include "analysis/trace_tree.hpp"
#include "analysis/unicode.hpp"

namespace promptetheus::analysis {

namespace {

std::string first_truthy_str(std::initializer_list<JsonView> values, std::string_view fallback) {
  for (const JsonView& v : values) {
    if (py_truthy(v)) return pystr(v);
  }
  return std::string(fallback);
}

/// Python's dict built from (key, step) pairs: first position, last value.
struct StepIndex {
  std::vector<std::string> order;
  std::unordered_map<std::string, const Step*> by_key;

  explicit StepIndex(const std::vector<Step>& steps) {
    for (const Step& s : steps) {
      auto [it, inserted] = by_key.emplace(s.key, &s);
      if (inserted) {
        order.push_back(s.key);
      } else {
        it->second = &s;
      }
    }
  }
  const Step* find(const std::string& key) const {
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  }
};

/// Python int() of a float duration, printed.
std::string int_ms(double v) {
  if (!std::isfinite(v)) return v != v ? "nan" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", std::trunc(v));
  std::string s = buf;
  return s == "-0" ? "0" : s;
}

}  // namespace

std::vector<const Event*> flatten_for_diff(const std::vector<Event>& events) {
  std::vector<const Event*> flat;
  const TraceForest forest = build_trace_forest(events);
  walk_forest(forest, [&](const SpanNode& n) { flat.insert(flat.end(), n.events.begin(), n.events.end()); });
  if (flat.empty()) {
    for (const Event& e : events) {
      if (e.is_object()) flat.push_back(&e);
    }
  }
  return flat;
}

std::vector<Step> extract_steps(const std::vector<Event>& events) {
  std::vector<Step> steps;
  std::unordered_map<std::string, std::size_t> counters;
  auto emit = [&](std::string base, std::string kind, std::string label, bool ok,
                  std::optional<double> duration) {
    const std::size_t ordinal = ++counters[base];
    Step s;
    s.key = base + "#" + std::to_string(ordinal);
    s.kind = std::move(kind);
    s.label = std::move(label);
    s.ok = ok;
    s.duration_ms = duration;
    steps.push_back(std::move(s));
  };
  for (const Event* e : flatten_for_diff(events)) {
    if (!e->type.is_string()) continue;
    const std::string type = e->type.as_string();
    const JsonView& p = e->payload;
    if (type == "tool_call") {
      const std::string name = first_truthy_str({p.get("tool"), p.get("name"), p.get("tool_name")}, "tool");
      emit("tool_call:" + name, "tool_call", "tool_call " + name, true, std::nullopt);
    } else if (type == "tool_result") {
      const std::string name = first_truthy_str({p.get("tool"), p.get("name"), p.get("tool_name")}, "tool");
      const JsonView status = p.get("status");
      const bool failed = py_truthy(p.get("error")) || status.string_equals("error") || status.string_equals("failed");
      emit("tool_result:" + name, "tool_result", "tool_result " + name, !failed, std::nullopt);
    } else if (type == "goal_check") {
      emit("goal_check:goal", "goal_check", "goal_check", !p.get("passed").is_false(), std::nullopt);
    } else if (type == "error") {
      const std::string m(code_point_prefix(first_truthy_str({p.get("message"), p.get("error")}, "error"), 40));
      emit("error:" + m, "error", "error " + m, false, std::nullopt);
    } else if (type == "span_end") {
      const std::string name = first_truthy_str({p.get("name")}, "span");
      std::optional<double> duration;
      const JsonView d = p.get("duration_ms");
      if (d.is_number()) duration = d.as_double();
      emit("span:" + name, "span", "span " + name, true, duration);
    }
  }
  return steps;
}

SessionDiff diff_sessions(const std::vector<Event>& a_events, const std::vector<Event>& b_events) {
  const std::vector<Step> a_steps = extract_steps(a_events);
  const std::vector<Step> b_steps = extract_steps(b_events);
  const StepIndex a(a_steps);
  const StepIndex b(b_steps);
  SessionDiff d;
  for (const std::string& key : b.order) {
    if (!a.find(key)) d.added.push_back(*b.find(key));
  }
  for (const std::string& key : a.order) {
    if (!b.find(key)) d.removed.push_back(*a.find(key));
  }
  for (const std::string& key : b.order) {
    const Step& nb = *b.find(key);
    const Step* na = a.find(key);
    if (!na) {
      if (!nb.ok) d.regressed = true;
      continue;
    }
    if (na->ok && !nb.ok) {
      d.changed.push_back({StepChange::Kind::changed, nb.label + " passed before, now fails", true});
      d.regressed = true;
    } else if (!na->ok && nb.ok) {
      d.changed.push_back({StepChange::Kind::changed, nb.label + " failed before, now passes", false});
    }
    if (na->duration_ms && nb.duration_ms && *na->duration_ms != 0.0 && *nb.duration_ms != 0.0) {
      const double before = *na->duration_ms;
      const double after = *nb.duration_ms;
      const double ratio = after / before;
      if ((ratio >= 2.0 || ratio <= 0.5) && std::fabs(after - before) >= 250.0) {
        d.changed.push_back({StepChange::Kind::changed,
                             nb.label + " duration " + int_ms(before) + "ms -> " + int_ms(after) + "ms", false});
      }
    }
  }
  return d;
}

std::vector<StepChange> SessionDiff::changes() const {
  std::vector<StepChange> all;
  for (const Step& s : added) all.push_back({StepChange::Kind::added, s.label, !s.ok});
  for (const Step& s : removed) all.push_back({StepChange::Kind::removed, s.label, false});
  all.insert(all.end(), changed.begin(), changed.end());
  return all;
}

std::string SessionDiff::summary() const {
  std::string out;
  auto line = [&out](std::string_view prefix, const std::string& text) {
    if (!out.empty()) out.push_back('\n');
    out += prefix;
    out += text;
  };
  for (const Step& s : added) line("+ added ", s.label);
  for (const Step& s : removed) line("- removed ", s.label);
  for (const StepChange& c : changed) line(c.regressed ? "! regressed " : "~ changed ", c.detail);
  return out;
}

}  // namespace promptetheus::analysis
