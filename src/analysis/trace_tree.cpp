#include "analysis/trace_tree.hpp"

#include <algorithm>
#include <unordered_map>

#include "analysis/pyrepr.hpp"
#include "analysis/python_number.hpp"
#include "analysis/replay.hpp"

namespace promptetheus::analysis {

namespace {

/// A non-empty string member, decoded; nullopt otherwise.
std::optional<std::string> non_empty_string(const JsonView& v) {
  if (!v.is_string() || v.raw().size() <= 2) return std::nullopt;
  std::string_view body;
  if (v.plain_string(body)) return std::string(body);
  return v.as_string();
}

std::optional<std::string> marker_name(const JsonView& payload) {
  if (auto n = non_empty_string(payload.get("span_name"))) return n;
  return non_empty_string(payload.get("name"));
}

struct SortedEvent {
  std::int64_t seq;
  std::size_t arrival;
  const Event* event;
};

}  // namespace

TraceForest build_trace_forest(const std::vector<Event>& events) {
  TraceForest forest;
  std::unordered_map<std::string, std::size_t> by_id;
  std::optional<std::size_t> root;
  std::vector<std::vector<SortedEvent>> pending;  // per node
  // Consecutive events usually share a span: remember the last lookup.
  std::string_view last_id_raw;
  std::size_t last_index = 0;

  std::size_t index = 0;
  std::size_t arrival = 0;
  for (const Event& e : events) {
    const std::size_t position = index++;
    if (!e.is_object()) continue;
    std::int64_t seq = static_cast<std::int64_t>(position);
    if (!e.seq.is_bool()) {
      if (auto v = py_int(e.seq)) seq = *v;
    }
    std::size_t node_index;
    const bool has_span = e.span_id.is_string() && e.span_id.raw().size() > 2;
    if (!has_span) {
      if (!root) {
        root = forest.nodes.size();
        forest.nodes.emplace_back();
        forest.nodes.back().is_root = true;
        forest.nodes.back().first_seq = seq;
        pending.emplace_back();
      }
      node_index = *root;
    } else if (!last_id_raw.empty() && e.span_id.raw() == last_id_raw) {
      node_index = last_index;
    } else {
      std::string id = *non_empty_string(e.span_id);
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        it = by_id.emplace(id, forest.nodes.size()).first;
        forest.nodes.emplace_back();
        forest.nodes.back().span_id = std::move(id);
        forest.nodes.back().first_seq = seq;
        pending.emplace_back();
      }
      node_index = it->second;
      last_id_raw = e.span_id.raw();
      last_index = node_index;
    }
    SpanNode& node = forest.nodes[node_index];
    if (has_span) {
      if (auto parent = non_empty_string(e.parent_id)) node.parent_id = std::move(parent);
      if (e.is_span_start()) {
        node.start_seq = seq;
        if (auto n = marker_name(e.payload)) node.name = std::move(n);
      } else if (e.is_span_end()) {
        node.end_seq = seq;
        if (!node.name) node.name = marker_name(e.payload);
        const JsonView d = e.payload.get("duration_ms");
        if (!d.is_bool()) {
          if (auto v = py_float(d)) node.duration_ms = *v;
        }
      }
    }
    pending[node_index].push_back(SortedEvent{seq, arrival++, &e});
  }

  // Break parent cycles, in creation order. Each walk goes up the parent chain; a node met
  // again on the same walk loses its parent. Nodes whose chain is known to end at a root are
  // marked done so long chains are walked once (same result as a fresh walk per node).
  enum : std::uint8_t { unknown, on_path, done };
  std::vector<std::uint8_t> state(forest.nodes.size(), unknown);
  std::vector<std::size_t> path;
  for (std::size_t i = 0; i < forest.nodes.size(); ++i) {
    if (forest.nodes[i].is_root || state[i] == done) continue;
    path.clear();
    std::size_t cur = i;
    state[cur] = on_path;
    path.push_back(cur);
    for (;;) {
      const auto& parent = forest.nodes[cur].parent_id;
      if (!parent) break;
      auto it = by_id.find(*parent);
      if (it == by_id.end() || state[it->second] == done) break;
      if (state[it->second] == on_path) {
        forest.nodes[it->second].parent_id.reset();
        break;
      }
      cur = it->second;
      state[cur] = on_path;
      path.push_back(cur);
    }
    for (std::size_t n : path) state[n] = done;
  }

  // Link children to parents; everything else is a root.
  for (std::size_t i = 0; i < forest.nodes.size(); ++i) {
    SpanNode& node = forest.nodes[i];
    std::optional<std::size_t> parent;
    if (!node.is_root && node.parent_id) {
      auto it = by_id.find(*node.parent_id);
      if (it != by_id.end()) parent = it->second;
    }
    if (parent) {
      forest.nodes[*parent].children.push_back(i);
    } else {
      forest.roots.push_back(i);
    }
  }

  auto by_first_seq = [&forest](std::size_t a, std::size_t b) {
    const SpanNode& x = forest.nodes[a];
    const SpanNode& y = forest.nodes[b];
    if (x.first_seq != y.first_seq) return x.first_seq < y.first_seq;
    return x.span_id < y.span_id;  // the root's span_id is ""
  };
  std::stable_sort(forest.roots.begin(), forest.roots.end(), by_first_seq);
  for (std::size_t i = 0; i < forest.nodes.size(); ++i) {
    auto& kids = forest.nodes[i].children;
    std::stable_sort(kids.begin(), kids.end(), by_first_seq);
    auto& evs = pending[i];
    std::stable_sort(evs.begin(), evs.end(), [](const SortedEvent& a, const SortedEvent& b) {
      return a.seq != b.seq ? a.seq < b.seq : a.arrival < b.arrival;
    });
    forest.nodes[i].events.reserve(evs.size());
    for (const auto& se : evs) forest.nodes[i].events.push_back(se.event);
  }
  return forest;
}

namespace {

void render_node_header(const SpanNode& node, std::size_t depth, std::string& out) {
  if (!out.empty()) out.push_back('\n');
  out.append(depth * 2, ' ');
  out += node.name ? *node.name : std::string("span");
  out += " span=";
  out += node.span_id;
  if (node.duration_ms) {
    out += " duration_ms=";
    out += py_float_repr(*node.duration_ms);
  }
}

}  // namespace

std::string render_tree(const TraceForest& forest) {
  std::string out;
  // Pre-order walk with an explicit stack: nesting depth comes from input data.
  std::vector<std::pair<std::size_t, std::size_t>> stack;  // (node, depth)
  for (auto it = forest.roots.rbegin(); it != forest.roots.rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    const auto [index, depth] = stack.back();
    stack.pop_back();
    const SpanNode& node = forest.nodes[index];
    std::size_t content = depth;
    if (!node.is_root) {
      render_node_header(node, depth, out);
      content = depth + 1;
    }
    for (const Event* e : node.events) {
      if (e->is_span_marker()) continue;
      if (!out.empty()) out.push_back('\n');
      out.append(content * 2, ' ');
      append_event_line(out, *e);
    }
    for (auto it = node.children.rbegin(); it != node.children.rend(); ++it) {
      stack.emplace_back(*it, content);
    }
  }
  return out;
}

}  // namespace promptetheus::analysis
