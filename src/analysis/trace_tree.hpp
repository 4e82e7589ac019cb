// The run tree (contract §7.3): spans rebuilt from span_id/parent_id and span markers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/session_store.hpp"

namespace promptetheus::analysis {

struct SpanNode {
  bool is_root = false;  // the synthetic root holding span-less events
  std::string span_id;
  std::optional<std::string> parent_id;
  std::optional<std::string> name;
  std::optional<std::int64_t> start_seq, end_seq;
  std::optional<double> duration_ms;
  std::int64_t first_seq = 0;
  std::vector<std::size_t> children;  // indices into TraceForest::nodes, sorted
  std::vector<const Event*> events;   // sorted by (seq, arrival)
};

struct TraceForest {
  std::vector<SpanNode> nodes;
  std::vector<std::size_t> roots;  // sorted by (first_seq, span_id)
  bool empty() const { return roots.empty(); }
};

/// Builds the forest; never throws. Events must outlive the forest.
TraceForest build_trace_forest(const std::vector<Event>& events);

/// render_tree(roots): lines joined with '\n', no trailing newline.
std::string render_tree(const TraceForest& forest);

/// Visits nodes depth-first in forest order (for diff's flatten): f(node).
template <typename F>
void walk_forest(const TraceForest& forest, F&& f) {
  std::vector<std::size_t> stack(forest.roots.rbegin(), forest.roots.rend());
  while (!stack.empty()) {
    const std::size_t i = stack.back();
    stack.pop_back();
    const SpanNode& n = forest.nodes[i];
    f(n);
    for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) stack.push_back(*it);
  }
}

}  // namespace promptetheus::analysis
