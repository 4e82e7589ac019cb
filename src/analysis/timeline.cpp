#include "analysis/timeline.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "analysis/pyrepr.hpp"
#include "analysis/python_number.hpp"
#include "analysis/readable_text.hpp"
#include "analysis/replay.hpp"
#include "analysis/script_safe_json.hpp"
#include "analysis/trace_tree.hpp"
#include "analysis/unicode.hpp"
#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "policy/cost_tally.hpp"

namespace promptetheus::analysis {

namespace {

using ojson = nlohmann::ordered_json;

// A value as a person reads it: a string as its text, anything else as compact JSON.
std::string value_text(const JsonView& v) {
  if (!v.present()) return "?";
  if (v.is_string()) return one_line(v.as_string());
  const nlohmann::json parsed = nlohmann::json::parse(v.raw(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return one_line(pystr(v));  // NaN or Infinity: Python's spelling
  return one_line(parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<std::string> string_member(const JsonView& object, std::string_view key) {
  const JsonView v = object.get(key);
  if (!v.is_string()) return std::nullopt;
  return v.as_string();
}

std::string type_of(const Event& e) {
  if (!e.type.present()) return "?";
  std::string_view body;
  if (e.type.plain_string(body)) return std::string(body);
  return pystr(e.type);
}

std::string seq_of(const Event& e) {
  if (!e.seq.present()) return "?";
  std::string_view body;
  if (e.seq.plain_string(body)) return std::string(body);
  return pystr(e.seq);
}

// A JSON value of the tree form, for the policy functions: NaN and Infinity (which Python's
// json reads and nlohmann does not) as doubles. A short integer (a token count, nearly always)
// is read directly: the same value nlohmann reads, without its parser.
nlohmann::json to_json(const JsonView& v) {
  if (!v.present()) return nullptr;
  const std::string_view raw = v.raw();
  if (v.is_number() && raw.size() <= 18 && v.is_integer_literal()) {
    std::int64_t value = 0;
    if (std::from_chars(raw.data(), raw.data() + raw.size(), value).ec == std::errc()) return value;
  }
  nlohmann::json j = nlohmann::json::parse(raw, nullptr, false);
  if (!j.is_discarded()) return j;
  return v.is_number() ? nlohmann::json(v.as_double()) : nlohmann::json(pystr(v));
}

// Adds an llm_call's model and token counts to the session's cost.
void add_to_cost(const Event& e, policy::CostTally& cost) {
  if (!e.payload.is_object()) {
    cost.add_call(std::nullopt, nullptr, nullptr);
    return;
  }
  const JsonView model = e.payload.get("model");
  std::optional<std::string> model_name;
  if (model.is_string()) model_name = model.as_string();
  const JsonView in = e.payload.get("input_tokens");
  const JsonView out = e.payload.get("output_tokens");
  const nlohmann::json in_count = to_json(in), out_count = to_json(out);
  cost.add_call(model_name ? std::optional<std::string_view>(*model_name) : std::nullopt,
                in.present() ? &in_count : nullptr, out.present() ? &out_count : nullptr);
}

// What the timeline says of each event (its text), and whether it is a failure (classify).
class EntryWriter {
 public:
  EntryWriter(const std::map<std::string, policy::Price>* prices,
              const std::unordered_map<std::string, std::string>& tool_names)
      : prices_(prices), tool_names_(tool_names) {}

  // Failures and counts, and the tool name of each call id: what the totals need.
  static void classify(const Event& e, TimelineEntry& entry, SessionOverview& overview,
                       std::unordered_map<std::string, std::string>& tool_names) {
    const JsonView& p = e.payload;
    const std::string& type = entry.type;
    if (!p.is_object()) return;
    if (type == "tool_call") {
      ++overview.tool_calls;
      if (auto call = string_member(p, "call_id")) tool_names[*call] = string_member(p, "tool_name").value_or("?");
    } else if (type == "tool_result") {
      const JsonView error = p.get("error");
      if (error.present() && !error.is_null()) {
        entry.failure = true;
        ++overview.failed_tool_calls;
      }
    } else if (type == "goal_check") {
      if (!p.get("passed").is_true()) {
        entry.failure = true;
        ++overview.failed_goal_checks;
      }
    } else if (type == "session_end") {
      if (string_member(p, "status") != std::optional<std::string>("completed")) entry.failure = true;
    } else if (type == "error") {
      entry.failure = true;
      ++overview.errors;
    }
  }

  // The one-line text of an entry already classified.
  void write_text(const Event& e, TimelineEntry& entry) const {
    const JsonView& p = e.payload;
    std::string& t = entry.text;
    const std::string& type = entry.type;
    if (!p.is_object()) {
      t = p.present() ? value_text(p) : "";
    } else if (type == "user_message" || type == "agent_message") {
      t = value_text(p.get("content"));
    } else if (type == "tool_call") {
      t = one_line(string_member(p, "tool_name").value_or("?"));
      const JsonView args = p.get("arguments");
      if (args.present() && !args.is_null()) t += " " + value_text(args);
    } else if (type == "tool_result") {
      const auto call = string_member(p, "call_id");
      const auto known = call ? tool_names_.find(*call) : tool_names_.end();
      t = known != tool_names_.end() ? one_line(known->second)
                                     : "call " + (call ? one_line(*call) : std::string("?"));
      const JsonView error = p.get("error");
      if (error.present() && !error.is_null()) {
        t += " FAILED: " + value_text(error);
      } else {
        t += " -> " + value_text(p.get("result"));
      }
    } else if (type == "llm_call") {
      describe_llm_call(p, t);
    } else if (type == "retrieval") {
      t = "\"" + value_text(p.get("query")) + "\"";
      const JsonView docs = p.get("documents");
      if (docs.is_array()) {
        std::size_t count = 0;
        std::string ids;
        docs.for_each_element([&](const JsonView& d) {
          if (count++ >= 5) return;
          std::string item = d.is_object() && d.get("id").present() ? value_text(d.get("id")) : "";
          const JsonView score = d.is_object() ? d.get("score") : JsonView();
          if (score.is_number()) item += (item.empty() ? "" : " ") + ("(" + pystr(score) + ")");
          if (!item.empty()) ids += (ids.empty() ? "" : ", ") + item;
        });
        t += " -> " + plural(count, "document", "documents");
        if (!ids.empty()) t += ": " + ids + (count > 5 ? ", …" : "");
      }
    } else if (type == "browser_action") {
      t = value_text(p.get("action"));
      const JsonView target = p.get("target");
      if (target.present() && !target.is_null()) t += " " + value_text(target);
      const JsonView url = p.get("url");
      if (url.is_string()) t += " at " + value_text(url);
    } else if (type == "dom_snapshot") {
      t = value_text(p.get("url"));
      const JsonView text = p.get("visible_text");
      if (text.is_string()) t += ", " + plural(to_u32(text.as_string()).size(), "character", "characters") + " of text";
      const JsonView warnings = p.get("warnings");
      if (warnings.is_array() && !warnings.empty_container()) t += ", warnings: " + value_text(warnings);
    } else if (type == "screenshot" || type == "replay_artifact") {
      const JsonView kind = p.get("artifact_type");
      t = kind.is_string() ? value_text(kind) + " " : "";
      t += value_text(p.get("storage_path"));
      const JsonView size = p.get("size_bytes");
      if (size.is_number()) t += " (" + pystr(size) + " bytes)";
    } else if (type == "goal_check") {
      if (p.get("passed").is_true()) {
        t = "passed";
      } else {
        t = "FAILED";
        const JsonView mismatches = p.get("mismatches");
        if (mismatches.is_array() && !mismatches.empty_container()) {
          std::string list;
          mismatches.for_each_element([&](const JsonView& m) {
            list += (list.empty() ? "" : "; ") + value_text(m);
          });
          t += ": " + list;
        }
      }
    } else if (type == "state_change") {
      describe_state_change(p, t);
    } else if (type == "session_end") {
      const auto status = string_member(p, "status");
      t = status ? one_line(*status) : value_text(p.get("status"));
      const JsonView error = p.get("error");
      if (error.present() && !error.is_null()) t += ": " + value_text(error);
    } else if (type == "error") {
      const auto kind = string_member(p, "error_type");
      t = (kind ? one_line(*kind) + ": " : std::string()) + value_text(p.get("message"));
      if (p.get("handled").is_true()) t += " (handled)";
    } else if (type == "score" || type == "metric") {
      t = value_text(p.get("name")) + "=" + (p.get("value").present() ? pystr(p.get("value")) : "?");
      const JsonView unit = p.get("unit");
      if (unit.is_string()) t += " " + value_text(unit);
      const JsonView comment = p.get("comment");
      if (comment.is_string()) t += " (" + value_text(comment) + ")";
    } else {
      t = value_text(p);
    }
  }

 private:
  void describe_llm_call(const JsonView& p, std::string& t) const {
    t = value_text(p.get("model"));
    const JsonView in = p.get("input_tokens"), out = p.get("output_tokens");
    auto tokens = [](const JsonView& v) { return v.is_number() ? pystr(v) : std::string("?"); };
    if (in.present() || out.present()) t += " " + tokens(in) + " in / " + tokens(out) + " out tokens";
    const JsonView latency = p.get("latency_ms");
    if (latency.is_number()) t += ", " + pystr(latency) + " ms";
    const auto model = string_member(p, "model");
    if (model && policy::resolve_price(*model, prices_)) {
      t += ", " + format_usd(policy::estimate_cost(*model, to_json(in), to_json(out), prices_));
    }
  }

  void describe_state_change(const JsonView& p, std::string& t) const {
    const auto name = string_member(p, "name");
    const JsonView after = p.get("after");
    if (name == std::optional<std::string>("span_start") ||
        name == std::optional<std::string>("span_end")) {
      t = *name + " " + value_text(p.get("span_name"));
      const JsonView duration = p.get("duration_ms");
      if (auto ms = py_float(duration); ms && duration.is_number()) t += " (" + format_duration_ms(*ms) + ")";
    } else if (name == std::optional<std::string>("session_started") && after.is_object()) {
      t = "session_started agent=" + value_text(after.get("agent")) + " goal=\"" +
          value_text(after.get("user_goal")) + "\"";
    } else if (name == std::optional<std::string>("tags_added") && after.is_object()) {
      t = "tags_added " + value_text(after.get("tags"));
    } else {
      t = name ? one_line(*name) : value_text(p.get("name"));
      const JsonView before = p.get("before");
      if (before.present() && !before.is_null()) t += " " + value_text(before) + " ->";
      if (after.present() && !after.is_null()) t += " " + value_text(after);
    }
  }

  const std::map<std::string, policy::Price>* prices_;
  const std::unordered_map<std::string, std::string>& tool_names_;  // call_id → tool name
};

std::optional<std::int64_t> timestamp_us(const Event& e) {
  if (!e.is_object() || !e.timestamp.is_string()) return std::nullopt;
  std::string_view plain;
  if (e.timestamp.plain_string(plain)) return detail::parse_timestamp(plain);
  return detail::parse_timestamp(e.timestamp.as_string());
}

// The waterfall's spans by id. Events of one span mostly come in runs, so the last span found
// is remembered by its id's text, saving a decode and a hash per event.
struct SpanIndex {
  std::unordered_map<std::string, std::size_t> by_id;
  std::string_view last_raw;
  std::size_t last = 0;
};

// Keeps the waterfall's spans up to date with one more entry.
void record_span(const Event& e, const TimelineEntry& entry, std::vector<SpanTiming>& spans, SpanIndex& index) {
  if (!e.span_id.is_string()) return;
  if (index.last_raw.empty() || e.span_id.raw() != index.last_raw) {
    const std::string id = e.span_id.as_string();
    auto found = index.by_id.find(id);
    if (found == index.by_id.end()) {
      SpanTiming span;
      span.span_id = id;
      if (e.parent_id.is_string()) {
        span.parent_id = e.parent_id.as_string();
        auto parent = index.by_id.find(*span.parent_id);
        if (parent != index.by_id.end()) span.depth = spans[parent->second].depth + 1;
      }
      found = index.by_id.emplace(id, spans.size()).first;
      spans.push_back(std::move(span));
    }
    index.last_raw = e.span_id.raw();
    index.last = found->second;
  }
  SpanTiming& span = spans[index.last];
  if (e.is_span_start()) {
    span.start_ms = entry.offset_ms;
    span.name = string_member(e.payload, "span_name");
  } else if (e.is_span_end()) {
    span.end_ms = entry.offset_ms;
    if (!span.name) span.name = string_member(e.payload, "span_name");
    const JsonView duration = e.payload_get("duration_ms");
    if (duration.is_number()) span.duration_ms = duration.as_double();
  } else if (!span.start_ms) {
    span.start_ms = entry.offset_ms;  // an event of a span whose start marker is missing
  }
  if (entry.failure) span.failed = true;
}

}  // namespace

Timeline build_timeline(const std::vector<Event>& events, const std::map<std::string, policy::Price>* prices,
                        EntryText text) {
  Timeline timeline;
  SessionOverview& overview = timeline.overview;
  const std::vector<const Event*> order = events_in_seq_order(events);

  // The session starts at its earliest timestamp (seq 0 normally, but clocks and files vary).
  std::vector<std::optional<std::int64_t>> times(order.size());
  std::optional<std::int64_t> first_us, last_us;
  const Event* first_event = nullptr;
  const Event* last_event = nullptr;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto us = times[i] = timestamp_us(*order[i]);
    if (!us) continue;
    if (!first_us || *us < *first_us) {
      first_us = us;
      first_event = order[i];
    }
    if (!last_us || *us >= *last_us) {
      last_us = us;
      last_event = order[i];
    }
  }
  if (first_event) overview.started_at = first_event->timestamp.as_string();
  if (last_event) overview.ended_at = last_event->timestamp.as_string();
  if (first_us && last_us) overview.duration_ms = static_cast<double>(*last_us - *first_us) / 1000.0;

  policy::CostTally cost(prices);
  SpanIndex span_index;
  const EntryWriter writer(prices, timeline.tool_names);
  int depth = 0;
  timeline.entries.reserve(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    const Event* e = order[i];
    TimelineEntry entry;
    entry.event = e;
    entry.seq = seq_of(*e);
    entry.type = type_of(*e);
    if (times[i] && first_us) entry.offset_ms = static_cast<double>(*times[i] - *first_us) / 1000.0;
    const bool start = e->is_span_start();
    if (e->is_span_end() && depth > 0) --depth;
    entry.depth = depth;
    if (start) {
      ++depth;
      ++overview.spans;
    }
    EntryWriter::classify(*e, entry, overview, timeline.tool_names);
    if (text == EntryText::all) writer.write_text(*e, entry);
    if (entry.failure) ++overview.failures;
    record_span(*e, entry, timeline.spans, span_index);

    if (!overview.session_id) {
      const JsonView sid = e->value.get("session_id");
      if (sid.is_string()) overview.session_id = sid.as_string();
    }
    if (entry.type == "state_change" && e->payload_get("name").string_equals("session_started")) {
      const JsonView after = e->payload_get("after");
      if (auto agent = string_member(after, "agent")) overview.agent = agent;
      if (auto goal = string_member(after, "user_goal")) overview.goal = goal;
    }
    if (entry.type == "session_end" && e->payload.is_object()) {
      overview.status = string_member(e->payload, "status");
      overview.end_error = string_member(e->payload, "error");
    }
    if (entry.type == "llm_call") add_to_cost(*e, cost);
    timeline.entries.push_back(std::move(entry));
  }
  overview.events = timeline.entries.size();
  overview.cost = cost.totals();
  return timeline;
}

void describe_entry(Timeline& timeline, std::size_t index, const std::map<std::string, policy::Price>* prices) {
  if (index >= timeline.entries.size()) return;
  TimelineEntry& entry = timeline.entries[index];
  entry.text.clear();
  EntryWriter(prices, timeline.tool_names).write_text(*entry.event, entry);
}

std::string summary_line(const SessionOverview& o) {
  std::string s = o.status ? *o.status : std::string("no session_end");
  if (o.duration_ms) s += " · " + format_duration_ms(*o.duration_ms);
  s += " · " + plural(o.events, "event", "events");
  s += " · " + plural(static_cast<std::size_t>(o.cost.llm_calls), "LLM call", "LLM calls");
  if (o.cost.llm_calls > 0) {
    s += " · " + format_count(o.cost.tokens()) + " tokens (" +
         format_count(o.cost.input_tokens) + " in, " + format_count(o.cost.output_tokens) + " out)";
    s += " · " + (o.cost.priced_calls > 0 ? format_usd(o.cost.total_usd) : std::string("cost unknown"));
    if (o.cost.priced_calls > 0 && o.cost.priced_calls < o.cost.llm_calls) s += " (some calls unpriced)";
  }
  s += " · " + plural(o.failures, "failure", "failures");
  return s;
}

namespace {

void append_header(std::string& out, const SessionOverview& o) {
  out += "Session " + (o.session_id ? one_line(*o.session_id) : std::string("?"));
  if (o.agent) out += " · agent " + one_line(*o.agent);
  out += "\n";
  if (o.goal) out += "Goal: " + one_line(*o.goal) + "\n";
  if (o.started_at) out += "Started " + one_line(*o.started_at) + "\n";
  if (o.status) {
    out += "Status: " + one_line(*o.status);
    if (o.end_error) out += ": " + one_line(*o.end_error);
    out += "\n";
  }
  out += "\n";
}

void append_entry(std::string& out, const TimelineEntry& entry, int depth) {
  out += entry.failure ? "! " : "  ";
  char offset[32];
  if (entry.offset_ms) {
    std::snprintf(offset, sizeof offset, "%+9.3fs", *entry.offset_ms / 1000.0);
  } else {
    std::snprintf(offset, sizeof offset, "%10s", "?");
  }
  out += offset;
  out += "  ";
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
  out += "[" + one_line(entry.seq) + "] " + one_line(entry.type);
  if (!entry.text.empty()) out += " " + entry.text;
  out.push_back('\n');
}

}  // namespace

std::string render_timeline(const Timeline& timeline) {
  if (timeline.entries.empty()) return "(no events)\n";
  std::string out;
  out.reserve(timeline.entries.size() * 96 + 256);
  append_header(out, timeline.overview);
  for (const TimelineEntry& entry : timeline.entries) append_entry(out, entry, entry.depth);
  out += "\n" + summary_line(timeline.overview) + "\n";
  return out;
}

std::string render_timeline_tree(const std::vector<Event>& events, const Timeline& timeline) {
  if (timeline.entries.empty()) return "(no events)\n";
  std::unordered_map<const Event*, const TimelineEntry*> entry_of;
  for (const TimelineEntry& entry : timeline.entries) entry_of[entry.event] = &entry;
  const TraceForest forest = build_trace_forest(events);

  std::string out;
  append_header(out, timeline.overview);
  // Pre-order with an explicit stack (nesting depth comes from input data). Within a span, its
  // events (its markers are its header line) and its child spans are merged by seq; at the top,
  // the events outside any span and the top-level spans are merged the same way.
  static const std::vector<const Event*> kNoEvents;
  std::vector<std::size_t> top_spans;
  const std::vector<const Event*>* top_events = &kNoEvents;
  for (std::size_t root : forest.roots) {
    if (forest.nodes[root].is_root) {
      top_events = &forest.nodes[root].events;
    } else {
      top_spans.push_back(root);
    }
  }
  struct Frame {
    const std::vector<const Event*>* events;
    const std::vector<std::size_t>* children;
    int depth;  // of the content
    bool skip_markers;
    std::size_t next_event = 0, next_child = 0;
  };
  std::vector<Frame> stack;
  stack.push_back(Frame{top_events, &top_spans, 0, false});
  while (!stack.empty()) {
    Frame& f = stack.back();
    const bool events_left = f.next_event < f.events->size();
    const bool children_left = f.next_child < f.children->size();
    if (!events_left && !children_left) {
      stack.pop_back();
      continue;
    }
    const bool child_first =
        children_left &&
        (!events_left || forest.nodes[(*f.children)[f.next_child]].first_seq <
                             static_cast<std::int64_t>(flat_seq_key((*f.events)[f.next_event]->seq)));
    if (child_first) {
      const SpanNode& child = forest.nodes[(*f.children)[f.next_child++]];
      const int depth = f.depth;
      out.append(14 + static_cast<std::size_t>(depth) * 2, ' ');
      out += "span " + one_line(child.name.value_or("?"));
      if (child.duration_ms && std::isfinite(*child.duration_ms)) {
        out += " (" + format_duration_ms(*child.duration_ms) + ")";
      }
      out.push_back('\n');
      stack.push_back(Frame{&child.events, &child.children, depth + 1, true});  // `f` is stale now
      continue;
    }
    const Event* e = (*f.events)[f.next_event++];
    if (f.skip_markers && e->is_span_marker()) continue;
    auto found = entry_of.find(e);
    if (found != entry_of.end()) append_entry(out, *found->second, f.depth);
  }
  out += "\n" + summary_line(timeline.overview) + "\n";
  return out;
}

ojson overview_json(const SessionOverview& o) {
  const auto optional_string = [](const std::optional<std::string>& s) {
    return s ? ojson(*s) : ojson(nullptr);
  };
  ojson j;
  j["session_id"] = optional_string(o.session_id);
  j["agent"] = optional_string(o.agent);
  j["goal"] = optional_string(o.goal);
  j["status"] = optional_string(o.status);
  j["end_error"] = optional_string(o.end_error);
  j["started_at"] = optional_string(o.started_at);
  j["ended_at"] = optional_string(o.ended_at);
  j["duration_ms"] = o.duration_ms ? ojson(*o.duration_ms) : ojson(nullptr);
  j["events"] = o.events;
  j["spans"] = o.spans;
  j["tool_calls"] = o.tool_calls;
  j["failed_tool_calls"] = o.failed_tool_calls;
  j["errors"] = o.errors;
  j["failed_goal_checks"] = o.failed_goal_checks;
  j["failures"] = o.failures;
  j["llm_calls"] = o.cost.llm_calls;
  j["input_tokens"] = o.cost.input_tokens;
  j["output_tokens"] = o.cost.output_tokens;
  j["priced_llm_calls"] = o.cost.priced_calls;
  j["cost_usd"] = o.cost.total_usd;
  j["unpriced_models"] = o.cost.unknown_models;
  j["summary"] = summary_line(o);
  return j;
}

namespace {

// A string as JSON (write_json_string's escaping, so ASCII) that may sit inside <script>.
void append_string(std::string& out, std::string_view text) {
  const std::size_t from = out.size();
  detail::write_json_string(out, text);
  bool markup = false;
  for (std::size_t i = from; i < out.size(); ++i) markup |= out[i] == '<' || out[i] == '>' || out[i] == '&';
  if (!markup) return;
  const std::string written = out.substr(from);
  out.resize(from);
  append_script_safe_json(out, written);
}

unsigned hex4(const char* p) {
  unsigned v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    v = v * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

// Whether already-validated event text (Python's grammar) is also plain JSON that nlohmann and
// JSON.parse read as Python did: no NaN or Infinity token, no lone surrogate escape, no number
// that overflows a double.
bool plain_json_text(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char c = *p;
    if (c == '"') {
      for (++p; p < end && *p != '"'; ++p) {
        if (*p != '\\') continue;
        ++p;
        if (*p != 'u') continue;
        const unsigned unit = hex4(p + 1);
        p += 4;
        if (unit >= 0xDC00 && unit <= 0xDFFF) return false;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          if (end - p < 7 || p[1] != '\\' || p[2] != 'u') return false;
          const unsigned low = hex4(p + 3);
          if (low < 0xDC00 || low > 0xDFFF) return false;
          p += 6;
        }
      }
      ++p;
    } else if (c == 'N' || c == 'I') {
      return false;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const char* start = p;
      bool exponent = false;
      while (p < end && (*p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))) {
        exponent |= *p == 'e' || *p == 'E';
        ++p;
      }
      if (p < end && *p == 'I') return false;  // -Infinity
      if (exponent || p - start > 15) {
        const std::string token(start, p);
        if (!std::isfinite(std::strtod(token.c_str(), nullptr))) return false;
      }
    } else {
      ++p;
    }
  }
  return true;
}

}  // namespace

namespace {

// One entry of append_entries_json; `event_as_repr` writes the event as its Python repr string
// whatever its text.
void append_entry(std::string& out, const TimelineEntry& entry, bool event_as_repr) {
  out += "{\"seq\":";
  append_string(out, entry.seq);
  out += ",\"type\":";
  append_string(out, entry.type);
  out += ",\"offset_ms\":";
  if (entry.offset_ms) detail::write_json_double(out, *entry.offset_ms);
  else out += "null";
  out += ",\"depth\":" + std::to_string(entry.depth);
  out += ",\"text\":";
  append_string(out, entry.text);
  out += entry.failure ? ",\"failure\":true" : ",\"failure\":false";
  out += ",\"span_id\":";
  const JsonView span = entry.event->span_id;
  if (span.is_string()) append_string(out, span.as_string());
  else out += "null";
  out += ",\"event\":";
  const std::string_view raw = entry.event->value.raw();
  if (!event_as_repr && plain_json_text(raw)) append_script_safe_json(out, raw);
  else append_string(out, pystr(entry.event->value));
  out += '}';
}

}  // namespace

void append_entries_json(std::string& out, const Timeline& timeline, std::size_t begin, std::size_t end) {
  end = std::min(end, timeline.entries.size());
  out += '[';
  for (std::size_t i = begin; i < end; ++i) {
    if (i != begin) out += ',';
    append_entry(out, timeline.entries[i], false);
  }
  out += ']';
}

ojson spans_json(const std::vector<SpanTiming>& timings) {
  ojson spans = ojson::array();
  const auto optional_number = [](const std::optional<double>& v) {
    return v && std::isfinite(*v) ? ojson(*v) : ojson(nullptr);
  };
  for (const SpanTiming& span : timings) {
    ojson j;
    j["span_id"] = span.span_id;
    j["parent_id"] = span.parent_id ? ojson(*span.parent_id) : ojson(nullptr);
    j["name"] = span.name ? ojson(*span.name) : ojson(nullptr);
    j["start_ms"] = optional_number(span.start_ms);
    j["end_ms"] = optional_number(span.end_ms);
    j["duration_ms"] = optional_number(span.duration_ms);
    j["depth"] = span.depth;
    j["failed"] = span.failed;
    spans.push_back(std::move(j));
  }
  return spans;
}

ojson timeline_json(const Timeline& timeline) {
  std::string text;
  append_entries_json(text, timeline, 0, timeline.entries.size());
  ojson entries = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (entries.is_discarded()) {
    // Not expected (plain_json_text guards every event): an entry nlohmann cannot read carries
    // its event as the Python repr string.
    entries = ojson::array();
    for (const TimelineEntry& entry : timeline.entries) {
      text.clear();
      append_entry(text, entry, false);
      ojson one = ojson::parse(text, nullptr, false);
      if (one.is_discarded()) {
        text.clear();
        append_entry(text, entry, true);
        one = ojson::parse(text, nullptr, false);
      }
      entries.push_back(std::move(one));
    }
  }
  ojson j;
  j["overview"] = overview_json(timeline.overview);
  j["entries"] = std::move(entries);
  j["spans"] = spans_json(timeline.spans);
  return j;
}

}  // namespace promptetheus::analysis
