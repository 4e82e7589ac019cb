#include "core/tail_sampler.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/json_writer.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

// How many decided sessions are remembered for their late events.
constexpr std::size_t kRememberedDecisions = 4096;

}  // namespace

TailSampler::TailSampler(double head_sample_rate, policy::TailPolicy policy, Limits limits)
    : head_sample_rate_(head_sample_rate), policy_(std::move(policy)), limits_(limits) {}

void TailSampler::admit(std::vector<EncodedEvent>& batch) noexcept {
  std::vector<EncodedEvent> out;
  try {
    out.reserve(batch.size());
  } catch (...) {
    return;  // out of memory: the batch is sent as it is (kept)
  }
  std::size_t i = 0;
  try {
    for (; i < batch.size(); ++i) admit_one(std::move(batch[i]), out);
    enforce_total(out);
  } catch (...) {
    // Out of memory: what was not taken yet is sent (kept), and so is everything held.
    try {
      for (; i < batch.size(); ++i) {
        if (!batch[i].json.empty()) out.push_back(std::move(batch[i]));
      }
      release_all(out);
    } catch (...) {
    }
  }
  batch.swap(out);
}

void TailSampler::admit_one(EncodedEvent&& event, std::vector<EncodedEvent>& out) {
  {
    const auto decided = decided_.find(event.session_id);
    if (decided != decided_.end()) {
      // A late event of a session already decided (or kept early): it follows the decision.
      if (decided->second) {
        out.push_back(std::move(event));
      } else {
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
  }
  hold(std::move(event), out);
}

void TailSampler::hold(EncodedEvent&& event, std::vector<EncodedEvent>& out) {
  auto [it, inserted] = held_.try_emplace(event.session_id);
  Held& held = it->second;
  if (inserted) held.arrival = next_arrival_++;
  const bool ends = event.ends_session;
  held.bytes += event.json.size();
  held_bytes_ += event.json.size();
  held.events.push_back(std::move(event));
  held_count_.fetch_add(1, std::memory_order_relaxed);
  const bool over_bound = held.events.size() > limits_.session_events || held.bytes > limits_.session_bytes;
  if (!ends && !over_bound) return;
  const std::string session_id = it->first;  // a copy: deciding erases the entry
  if (ends) {
    decide(session_id, out);
  } else {
    release(session_id, out, /*early=*/true);
  }
}

void TailSampler::decide(const std::string& session_id, std::vector<EncodedEvent>& out) {
  Held& held = held_.at(session_id);
  std::vector<nlohmann::json> events;
  events.reserve(held.events.size());
  for (const auto& e : held.events) events.push_back(nlohmann::json::parse(e.json, nullptr, false));
  const policy::TailDecision decision = policy::decide_tail(events, session_id, head_sample_rate_, policy_);
  if (decision.keep) {
    release(session_id, out, /*early=*/false);
    return;
  }
  const std::uint64_t n = held.events.size();
  std::uint64_t sent = 0;
  if (policy_.emit_skeleton_on_drop) {
    const std::size_t before = out.size();
    add_skeleton(held, decision.reason, out);
    sent = out.size() - before;
  }
  dropped_.fetch_add(n - sent, std::memory_order_relaxed);
  held_count_.fetch_sub(n, std::memory_order_relaxed);
  held_bytes_ -= held.bytes;
  held_.erase(session_id);
  remember(session_id, false);
}

// The contract's skeleton: the first held event, and a copy of the last session_end (or the
// last event) whose payload says what was dropped; only the original when they are one event.
void TailSampler::add_skeleton(Held& held, const std::string& reason, std::vector<EncodedEvent>& out) {
  std::size_t last = held.events.size() - 1;
  for (std::size_t i = held.events.size(); i-- > 0;) {
    if (held.events[i].ends_session) {
      last = i;
      break;
    }
  }
  if (last == 0) {
    out.push_back(std::move(held.events[0]));
    return;
  }
  const std::size_t count = held.events.size();
  out.push_back(std::move(held.events[0]));
  EncodedEvent annotated = std::move(held.events[last]);
  nlohmann::json line = nlohmann::json::parse(annotated.json, nullptr, false);
  if (line.is_object()) {
    nlohmann::json& payload = line["payload"];
    if (!payload.is_object()) payload = nlohmann::json::object();
    payload["tail_dropped"] = true;
    payload["tail_drop_reason"] = reason;
    payload["tail_dropped_event_count"] = count;
    annotated.json.clear();
    write_json(annotated.json, line);
  }
  out.push_back(std::move(annotated));
}

void TailSampler::release(const std::string& session_id, std::vector<EncodedEvent>& out, bool early) {
  auto it = held_.find(session_id);
  if (it == held_.end()) return;
  Held& held = it->second;
  for (auto& e : held.events) out.push_back(std::move(e));
  held_count_.fetch_sub(held.events.size(), std::memory_order_relaxed);
  held_bytes_ -= held.bytes;
  held_.erase(it);
  if (early) decided_early_.fetch_add(1, std::memory_order_relaxed);
  remember(session_id, true);
}

void TailSampler::remember(const std::string& session_id, bool keep) {
  if (decided_.emplace(session_id, keep).second) decided_order_.push_back(session_id);
  while (decided_order_.size() > kRememberedDecisions) {
    decided_.erase(decided_order_.front());
    decided_order_.pop_front();
  }
}

void TailSampler::enforce_total(std::vector<EncodedEvent>& out) {
  while (held_bytes_ > limits_.total_bytes && !held_.empty()) {
    auto oldest = std::min_element(held_.begin(), held_.end(),
                                   [](const auto& a, const auto& b) { return a.second.arrival < b.second.arrival; });
    const std::string session_id = oldest->first;
    release(session_id, out, /*early=*/true);
  }
}

void TailSampler::release_all(std::vector<EncodedEvent>& out) {
  std::vector<std::pair<std::uint64_t, std::string>> order;
  order.reserve(held_.size());
  for (const auto& [id, held] : held_) order.emplace_back(held.arrival, id);
  std::sort(order.begin(), order.end());
  for (const auto& entry : order) {
    auto it = held_.find(entry.second);
    out.reserve(out.size() + it->second.events.size());  // may throw: then nothing of it moved
    for (auto& e : it->second.events) out.push_back(std::move(e));
    held_count_.fetch_sub(it->second.events.size(), std::memory_order_relaxed);
    held_bytes_ -= it->second.bytes;
    held_.erase(it);
  }
}

TailSampler::Counts TailSampler::counts() const noexcept {
  Counts c;
  c.dropped = dropped_.load(std::memory_order_relaxed);
  c.held = held_count_.load(std::memory_order_relaxed);
  c.decided_early = decided_early_.load(std::memory_order_relaxed);
  return c;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
