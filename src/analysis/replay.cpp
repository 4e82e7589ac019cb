#include "analysis/replay.hpp"

#include <algorithm>
#include <numeric>

#include "analysis/pyrepr.hpp"
#include "analysis/python_number.hpp"

namespace promptetheus::analysis {

namespace {

struct DetailKeys {
  std::string_view type;
  std::string_view keys[2];
};

// Contract §6.12: which payload keys each event type shows.
constexpr DetailKeys kDetailKeys[] = {
    {"agent_message", {"content", {}}}, {"user_message", {"content", {}}},
    {"tool_call", {"tool_name", {}}},   {"tool_result", {"call_id", {}}},
    {"llm_call", {"model", {}}},        {"browser_action", {"action", "target"}},
    {"goal_check", {"passed", {}}},     {"state_change", {"name", {}}},
    {"score", {"name", "value"}},       {"metric", {"name", "value"}},
    {"error", {"message", {}}},         {"session_end", {"status", {}}},
};

void append_str_or_unknown(std::string& out, const JsonView& v) {
  if (!v.present()) {
    out.push_back('?');
    return;
  }
  std::string_view body;
  if (v.plain_string(body)) {
    out += body;
  } else {
    out += pystr(v);
  }
}

}  // namespace

void append_event_line(std::string& out, const Event& e) {
  out.push_back('[');
  append_str_or_unknown(out, e.seq);
  out += "] ";
  append_str_or_unknown(out, e.type);
  if (!e.type.is_string() || !e.payload.is_object()) return;
  std::string_view type;
  std::string decoded;
  if (!e.type.plain_string(type)) {
    decoded = e.type.as_string();
    type = decoded;
  }
  for (const auto& entry : kDetailKeys) {
    if (entry.type != type) continue;
    for (std::string_view key : entry.keys) {
      if (key.empty()) continue;
      const JsonView v = e.payload.get(key);
      if (!v.present()) continue;
      out.push_back(' ');
      out += key;
      out.push_back('=');
      append_pyrepr(out, v);
    }
    return;
  }
}

long double flat_seq_key(const JsonView& seq) {
  if (seq.is_bool()) return seq.is_true() ? 1 : 0;
  if (seq.is_number()) {
    if (seq.is_integer_literal()) {
      if (auto i = py_int(seq)) return static_cast<long double>(*i);
    }
    return static_cast<long double>(seq.as_double());
  }
  if (seq.is_string()) {
    if (auto i = py_int_from_string(seq.as_string())) return static_cast<long double>(*i);
    if (auto d = py_float_from_string(seq.as_string())) return static_cast<long double>(*d);
  }
  return 0;
}

std::vector<const Event*> events_in_seq_order(const std::vector<Event>& events) {
  std::vector<std::pair<long double, const Event*>> order;
  order.reserve(events.size());
  for (const auto& e : events) {
    if (e.is_object()) order.emplace_back(flat_seq_key(e.seq), &e);
  }
  // NaN keys compare false both ways; map them to 0 so the ordering stays strict-weak.
  for (auto& o : order) {
    if (o.first != o.first) o.first = 0;
  }
  // Spool files are nearly always in seq order already; sort only when they are not.
  const auto by_seq = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(order.begin(), order.end(), by_seq)) std::stable_sort(order.begin(), order.end(), by_seq);
  std::vector<const Event*> sorted;
  sorted.reserve(order.size());
  for (const auto& o : order) sorted.push_back(o.second);
  return sorted;
}

std::string render_flat(const std::vector<Event>& events) {
  const std::vector<const Event*> order = events_in_seq_order(events);
  if (order.empty()) return "(no events)\n";
  std::string out;
  out.reserve(order.size() * 64);
  std::size_t depth = 0;
  for (const Event* e : order) {
    const bool start = e->is_span_start();
    const bool end = !start && e->is_span_end();
    if (end && depth > 0) --depth;
    out.append(depth * 2, ' ');
    append_event_line(out, *e);
    out.push_back('\n');
    if (start) ++depth;
  }
  return out;
}

}  // namespace promptetheus::analysis
