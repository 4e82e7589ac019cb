#include "analysis/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "analysis/pyrepr.hpp"
#include "analysis/readable_text.hpp"

namespace promptetheus::analysis {

namespace {

using Kind = ComparisonLine::Kind;

std::optional<std::string> string_member(const JsonView& object, std::string_view key) {
  const JsonView v = object.get(key);
  if (!v.is_string()) return std::nullopt;
  return v.as_string();
}

std::string value_text(const JsonView& v) {
  if (v.is_string()) return one_line(v.as_string());
  return v.present() ? one_line(pystr(v)) : "?";
}

struct ToolStats {
  std::size_t calls = 0;
  std::size_t failures = 0;
  std::string last_error;
};

// What a comparison reads of one session.
struct Facts {
  Timeline timeline;
  std::vector<std::string> tool_order;  // by first call
  std::map<std::string, ToolStats> tools;
  std::size_t goal_checks = 0;
  bool goal_failed = false;
  std::vector<std::string> mismatches;      // in order, distinct
  std::vector<std::string> error_messages;  // of `error` events, in order, distinct
  std::set<std::string> models;
  std::vector<std::pair<std::string, double>> span_durations;  // "<name>#<n>", duration
};

void add_distinct(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

Facts read_facts(const std::vector<Event>& events, const std::map<std::string, policy::Price>* prices) {
  Facts f;
  f.timeline = build_timeline(events, prices, EntryText::none);  // the facts read no entry text
  std::unordered_map<std::string, std::string> tool_of_call;
  std::map<std::string, std::size_t> span_ordinals;
  for (const TimelineEntry& entry : f.timeline.entries) {
    const Event& e = *entry.event;
    const JsonView& p = e.payload;
    if (entry.type == "tool_call") {
      const std::string name = string_member(p, "tool_name").value_or("?");
      if (auto call = string_member(p, "call_id")) tool_of_call[*call] = name;
      if (f.tools.find(name) == f.tools.end()) f.tool_order.push_back(name);
      ++f.tools[name].calls;
    } else if (entry.type == "tool_result") {
      const auto call = string_member(p, "call_id");
      const auto known = call ? tool_of_call.find(*call) : tool_of_call.end();
      const std::string name = known != tool_of_call.end() ? known->second : "?";
      const JsonView error = p.get("error");
      if (error.present() && !error.is_null()) {
        if (f.tools.find(name) == f.tools.end()) f.tool_order.push_back(name);
        ToolStats& stats = f.tools[name];
        ++stats.failures;
        stats.last_error = value_text(error);
      }
    } else if (entry.type == "goal_check") {
      ++f.goal_checks;
      if (!p.get("passed").is_true()) f.goal_failed = true;
      const JsonView mismatches = p.get("mismatches");
      if (mismatches.is_array()) {
        mismatches.for_each_element([&](const JsonView& m) { add_distinct(f.mismatches, value_text(m)); });
      }
    } else if (entry.type == "error") {
      add_distinct(f.error_messages, value_text(p.get("message")));
    } else if (entry.type == "llm_call") {
      if (auto model = string_member(p, "model")) f.models.insert(*model);
    } else if (e.is_span_end()) {
      const JsonView d = p.get("duration_ms");
      const std::string name = string_member(p, "span_name").value_or("?");
      const std::string key = name + "#" + std::to_string(++span_ordinals[name]);
      if (d.is_number()) f.span_durations.emplace_back(key, d.as_double());
    }
  }
  return f;
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + one_line(item);
  return out.empty() ? "none" : out;
}

// The reference diff's rule for a duration worth reporting: twice or half, and 250 ms apart.
bool duration_changed(double before, double after) {
  if (!(before > 0) || !(after > 0)) return false;
  const double ratio = after / before;
  return (ratio >= 2.0 || ratio <= 0.5) && std::fabs(after - before) >= 250.0;
}

std::string percent_change(std::int64_t before, std::int64_t after) {
  if (before == 0) return "";
  const double change = 100.0 * static_cast<double>(after - before) / static_cast<double>(before);
  char buf[32];
  std::snprintf(buf, sizeof buf, " (%+.0f%%)", change);
  return buf;
}

class LineWriter {
 public:
  explicit LineWriter(std::vector<ComparisonLine>& lines) : lines_(lines) {}
  void add(Kind kind, std::string subject, std::string text) {
    lines_.push_back(ComparisonLine{kind, std::move(subject), std::move(text)});
  }

 private:
  std::vector<ComparisonLine>& lines_;
};

// Problems listed in each run (goal mismatches, error messages): one that appears is a
// regression, one that is gone a fix.
void compare_lists(const std::vector<std::string>& a, const std::vector<std::string>& b, const std::string& subject,
                   LineWriter& out) {
  for (const std::string& item : b) {
    if (std::find(a.begin(), a.end(), item) == a.end()) out.add(Kind::regressed, subject, subject + " added: " + item);
  }
  for (const std::string& item : a) {
    if (std::find(b.begin(), b.end(), item) == b.end()) out.add(Kind::fixed, subject, subject + " gone: " + item);
  }
}

void compare_outcome(const Facts& a, const Facts& b, LineWriter& out) {
  const SessionOverview& oa = a.timeline.overview;
  const SessionOverview& ob = b.timeline.overview;
  const std::string status_a = oa.status.value_or("no session_end");
  const std::string status_b = ob.status.value_or("no session_end");
  if (status_a != status_b) {
    const bool worse = status_a == "completed";
    const bool better = status_b == "completed";
    out.add(worse ? Kind::regressed : better ? Kind::fixed : Kind::changed, "status",
            "status: " + one_line(status_a) + " -> " + one_line(status_b));
  }
  if (oa.end_error != ob.end_error) {
    const auto text = [](const std::optional<std::string>& e) { return e ? one_line(*e) : "none"; };
    out.add(Kind::changed, "end error", "end error: " + text(oa.end_error) + " -> " + text(ob.end_error));
  }
  if (a.goal_checks > 0 && b.goal_checks > 0 && a.goal_failed != b.goal_failed) {
    out.add(b.goal_failed ? Kind::regressed : Kind::fixed, "goal check",
            b.goal_failed ? "goal check: passed before, now fails" : "goal check: failed before, now passes");
  } else if (a.goal_checks == 0 && b.goal_checks > 0) {
    out.add(b.goal_failed ? Kind::regressed : Kind::added, "goal check",
            std::string("goal check added, ") + (b.goal_failed ? "failing" : "passing"));
  } else if (a.goal_checks > 0 && b.goal_checks == 0) {
    out.add(Kind::removed, "goal check", "goal check no longer run");
  }
  compare_lists(a.mismatches, b.mismatches, "goal mismatch", out);
}

void compare_tools(const Facts& a, const Facts& b, LineWriter& out) {
  std::vector<std::string> names = a.tool_order;
  for (const std::string& name : b.tool_order) add_distinct(names, name);
  for (const std::string& name : names) {
    const auto ia = a.tools.find(name);
    const auto ib = b.tools.find(name);
    const std::string subject = "tool " + one_line(name);
    if (ia == a.tools.end()) {
      const ToolStats& s = ib->second;
      std::string text = subject + " added: called " + plural(s.calls, "time", "times");
      if (s.failures > 0) text += ", " + plural(s.failures, "failure", "failures") + ": " + s.last_error;
      out.add(s.failures > 0 ? Kind::regressed : Kind::added, subject, text);
      continue;
    }
    if (ib == b.tools.end()) {
      out.add(Kind::removed, subject, subject + " no longer called");
      continue;
    }
    const ToolStats& sa = ia->second;
    const ToolStats& sb = ib->second;
    if (sa.failures == 0 && sb.failures > 0) {
      out.add(Kind::regressed, subject, subject + " passed before, now fails: " + sb.last_error);
    } else if (sa.failures > 0 && sb.failures == 0) {
      out.add(Kind::fixed, subject, subject + " failed before, now passes");
    } else if (sa.failures != sb.failures || (sb.failures > 0 && sa.last_error != sb.last_error)) {
      out.add(sb.failures > sa.failures ? Kind::regressed : Kind::changed, subject,
              subject + " failures " + std::to_string(sa.failures) + " -> " + std::to_string(sb.failures) +
                  ", now: " + sb.last_error);
    }
    if (sa.calls != sb.calls) {
      out.add(Kind::changed, subject,
              subject + " called " + std::to_string(sa.calls) + " -> " + plural(sb.calls, "time", "times"));
    }
  }
}

void compare_errors(const Facts& a, const Facts& b, LineWriter& out) {
  compare_lists(a.error_messages, b.error_messages, "error", out);
}

void compare_llm(const Facts& a, const Facts& b, LineWriter& out) {
  const policy::SessionCost& ca = a.timeline.overview.cost;
  const policy::SessionCost& cb = b.timeline.overview.cost;
  if (a.models != b.models) {
    out.add(Kind::changed, "LLM model", "LLM model: " + joined(a.models) + " -> " + joined(b.models));
  }
  if (ca.llm_calls != cb.llm_calls) {
    out.add(Kind::changed, "LLM calls",
            "LLM calls: " + format_count(ca.llm_calls) + " -> " + format_count(cb.llm_calls));
  }
  const std::int64_t tokens_a = ca.tokens();
  const std::int64_t tokens_b = cb.tokens();
  if (tokens_a != tokens_b) {
    out.add(Kind::changed, "LLM tokens",
            "LLM tokens: " + format_count(tokens_a) + " -> " + format_count(tokens_b) +
                percent_change(tokens_a, tokens_b));
  }
  if (ca.total_usd != cb.total_usd && (ca.priced_calls > 0 || cb.priced_calls > 0)) {
    out.add(Kind::changed, "estimated cost",
            "estimated cost: " + format_usd(ca.total_usd) + " -> " + format_usd(cb.total_usd));
  }
}

void compare_durations(const Facts& a, const Facts& b, LineWriter& out) {
  const auto& da = a.timeline.overview.duration_ms;
  const auto& db = b.timeline.overview.duration_ms;
  if (da && db && duration_changed(*da, *db)) {
    out.add(Kind::changed, "duration",
            "duration: " + format_duration_ms(*da) + " -> " + format_duration_ms(*db));
  }
  for (const auto& [key, after] : b.span_durations) {
    for (const auto& [key_a, before] : a.span_durations) {
      if (key_a != key) continue;
      if (duration_changed(before, after)) {
        const std::string name = key.substr(0, key.rfind('#'));
        out.add(Kind::changed, "span " + one_line(name),
                "span " + one_line(name) + " duration: " + format_duration_ms(before) + " -> " +
                    format_duration_ms(after));
      }
      break;
    }
  }
}

const char* marker(Kind kind) {
  switch (kind) {
    case Kind::added: return "+ ";
    case Kind::removed: return "- ";
    case Kind::changed: return "~ ";
    case Kind::regressed: return "! ";
    case Kind::fixed: return "✓ ";
  }
  return "~ ";
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::added: return "added";
    case Kind::removed: return "removed";
    case Kind::changed: return "changed";
    case Kind::regressed: return "regressed";
    case Kind::fixed: return "fixed";
  }
  return "changed";
}

std::string header(const char* name, const SessionOverview& o) {
  std::string s = std::string(name) + ": " + (o.session_id ? one_line(*o.session_id) : "?");
  if (o.agent) s += " · " + one_line(*o.agent);
  s += " · " + one_line(o.status.value_or("no session_end"));
  if (o.duration_ms) s += " · " + format_duration_ms(*o.duration_ms);
  return s;
}

}  // namespace

bool SessionComparison::regressed() const {
  return std::any_of(lines.begin(), lines.end(),
                     [](const ComparisonLine& l) { return l.kind == Kind::regressed; });
}

std::string SessionComparison::verdict() const {
  if (lines.empty()) return "no differences";
  if (!regressed()) return "changed, no regression";
  std::vector<std::string> subjects;
  for (const ComparisonLine& l : lines) {
    if (l.kind == Kind::regressed) add_distinct(subjects, l.subject);
  }
  std::string out = "REGRESSED: ";
  for (std::size_t i = 0; i < subjects.size(); ++i) out += (i ? ", " : "") + subjects[i];
  return out;
}

SessionComparison compare_sessions(const std::vector<Event>& a_events, const std::vector<Event>& b_events,
                                   const std::map<std::string, policy::Price>* prices) {
  const Facts a = read_facts(a_events, prices);
  const Facts b = read_facts(b_events, prices);
  SessionComparison c;
  c.a = a.timeline.overview;
  c.b = b.timeline.overview;
  LineWriter out(c.lines);
  compare_outcome(a, b, out);
  compare_tools(a, b, out);
  compare_errors(a, b, out);
  compare_llm(a, b, out);
  compare_durations(a, b, out);
  return c;
}

std::string render_comparison(const SessionComparison& c) {
  std::string out = header("A", c.a) + "\n" + header("B", c.b) + "\n\n";
  for (const ComparisonLine& line : c.lines) out += marker(line.kind) + line.text + "\n";
  if (!c.lines.empty()) out += "\n";
  out += "Verdict: " + c.verdict() + "\n";
  return out;
}

nlohmann::ordered_json comparison_json(const SessionComparison& c) {
  using ojson = nlohmann::ordered_json;
  ojson changes = ojson::array();
  for (const ComparisonLine& line : c.lines) {
    changes.push_back(ojson{{"kind", kind_name(line.kind)}, {"subject", line.subject}, {"text", line.text}});
  }
  ojson j;
  j["a"] = overview_json(c.a);
  j["b"] = overview_json(c.b);
  j["changes"] = std::move(changes);
  j["regressed"] = c.regressed();
  j["verdict"] = c.verdict();
  return j;
}

}  // namespace promptetheus::analysis
