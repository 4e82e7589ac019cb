// The state of one session, split by who may hold it:
//  - SessionInfo: immutable identity (id, idempotency key prefix, their JSON forms, the trace
//    body built from the session_started data). Queued
//    events reference it, so it must never reference the pipeline: that would make a cycle
//    (pipeline -> queued events -> session -> pipeline) that keeps a destroyed Client alive.
//  - SessionState: what handles (Session, SessionHandle, Context) share: the info, the seq
//    counter, metadata and tags, and the pipeline the session reports to.
#pragma once

#include "promptetheus/export.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event.hpp"
#include "promptetheus/policy.hpp"
#include "core/ids.hpp"
#include "core/trace_identity.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class Pipeline;
class EventPolicy;

class SessionInfo {
 public:
  SessionInfo(std::string id, const std::string& nonce, std::string trace_body);

  const std::string& id() const noexcept { return id_; }
  /// "<session_id>:<nonce>:" — the idempotency key without its seq.
  const std::string& key_prefix() const noexcept { return key_prefix_; }
  /// The id as a JSON string literal, and the key prefix as an unterminated JSON string literal
  /// (escaped once here so that the worker only copies them).
  const std::string& json_id() const noexcept { return json_id_; }
  const std::string& json_key_prefix() const noexcept { return json_key_prefix_; }
  /// The JSON body that creates the session's trace (core/trace_body.hpp).
  const std::string& trace_body() const noexcept { return trace_body_; }
  /// That body as `policy` redacts it: made on first use (on the worker, once per session) and
  /// kept. A session reports to one client, so to one policy. The unredacted body when the
  /// policy does not redact; an empty one when there is no memory to make it. Thread-safe.
  const std::string& redacted_trace_body(const EventPolicy& policy) const noexcept;

  SessionInfo(const SessionInfo&) = delete;
  SessionInfo& operator=(const SessionInfo&) = delete;
  ~SessionInfo();

 private:
  std::string id_;
  std::string key_prefix_;
  std::string json_id_;
  std::string json_key_prefix_;
  std::string trace_body_;
  mutable std::atomic<const std::string*> redacted_trace_body_{nullptr};  // owned; set once
};

class SessionState {
 public:
  SessionState(std::string id, const std::string& nonce, std::string trace_body,
               std::shared_ptr<Pipeline> pipeline);
  ~SessionState() { release_json(metadata); }  // never allocates (see release_json)

  const std::string& id() const noexcept { return info_->id(); }
  /// The identity events of this process carry. In a forked child that continues the session
  /// it is renewed once, with a fresh nonce, so that the child's idempotency keys never equal
  /// the parent's (both continue from the same seq). Thread-safe.
  const std::shared_ptr<const SessionInfo>& info() noexcept {
    if (info_generation_.load(std::memory_order_acquire) != fork_generation()) renew_after_fork();
    return info_;
  }
  const std::shared_ptr<Pipeline>& pipeline() const noexcept { return pipeline_; }

  /// Takes the next seq for an ordinary event. Returns false (and consumes nothing usable) once
  /// session_end has been taken. Lock-free.
  bool next_seq(std::uint64_t& seq) noexcept {
    std::uint64_t value = seq_.fetch_add(1, std::memory_order_relaxed);
    if (value & kEndedBit) return false;
    seq = value;
    return true;
  }
  /// Takes the seq of session_end: the last one. Returns false if it was already taken.
  bool take_end_seq(std::uint64_t& seq) noexcept {
    std::uint64_t value = seq_.load(std::memory_order_relaxed);
    do {
      if (value & kEndedBit) return false;
    } while (!seq_.compare_exchange_weak(value, (value + 1) | kEndedBit, std::memory_order_relaxed));
    seq = value;
    return true;
  }
  bool ended() const noexcept { return (seq_.load(std::memory_order_relaxed) & kEndedBit) != 0; }

  TraceIdentity trace;  // set before the state is shared, then read-only

  // Session data recorded in session_started and updated by update_metadata/add_tags.
  std::string agent;
  std::string user_goal;
  std::string project_id;
  std::string environment;
  std::mutex data_mutex;  // guards metadata, tags and cost (helpers that change them are rare)
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<std::string> tags;  // in the order first given; changed only through add_tag
  policy::SessionCost cost;       // of the llm_call events recorded; changed only through add_cost

  /// Counts one recorded llm_call in `cost` (contract §7.8: tokens over all calls, dollars over
  /// priced ones); `unpriced_model` is its model when it has no price. Call with data_mutex held.
  /// Strong guarantee (out of memory: nothing changed).
  void add_cost(const std::string& unpriced_model, const std::optional<policy::Price>& price,
                std::int64_t input_tokens, std::int64_t output_tokens) {
    if (!price && !unpriced_model.empty()) {
      auto it = std::lower_bound(cost.unknown_models.begin(), cost.unknown_models.end(), unpriced_model);
      if (it == cost.unknown_models.end() || *it != unpriced_model) cost.unknown_models.insert(it, unpriced_model);
    }
    auto add = [](std::int64_t total, std::int64_t n) {
      if (n <= 0) return total;  // a negative count counts as 0, as in estimate_cost
      return total > std::numeric_limits<std::int64_t>::max() - n ? std::numeric_limits<std::int64_t>::max()
                                                                  : total + n;
    };
    ++cost.llm_calls;
    cost.input_tokens = add(cost.input_tokens, input_tokens);
    cost.output_tokens = add(cost.output_tokens, output_tokens);
    if (price) {
      ++cost.priced_calls;
      // estimate_cost's formula, with the price already resolved.
      cost.total_usd += static_cast<double>(input_tokens > 0 ? input_tokens : 0) / 1000.0 * price->input_per_1k +
                        static_cast<double>(output_tokens > 0 ? output_tokens : 0) / 1000.0 * price->output_per_1k;
    }
  }

  /// Appends `tag` to tags unless it is there already; returns whether it was added.
  /// Constant time, so that de-duplicating many tags stays linear. Call with data_mutex held once
  /// the state is shared.
  /// Strong guarantee: when it throws (out of memory), nothing changed.
  bool add_tag(const std::string& tag) {
    if (tag_set_.count(tag) != 0) return false;
    tags.push_back(tag);
    try {
      tag_set_.insert(tag);
    } catch (...) {
      tags.pop_back();
      throw;
    }
    return true;
  }
  /// Takes back tags that add_tag() added. Call with data_mutex held once the state is shared.
  void remove_tags(const std::vector<std::string>& added) noexcept {
    for (const auto& tag : added) {
      if (tag_set_.erase(tag) == 0) continue;
      auto it = std::find(tags.begin(), tags.end(), tag);
      if (it != tags.end()) tags.erase(it);
    }
  }

 private:
  std::unordered_set<std::string> tag_set_;  // the members of tags

  static constexpr std::uint64_t kEndedBit = 1ull << 62;
  void renew_after_fork() noexcept;

  // info_ changes only in renew_after_fork(), at most once per process, while every reader
  // sees a stale info_generation_ and waits on renew_mutex_.
  std::shared_ptr<const SessionInfo> info_;
  std::atomic<std::uint64_t> info_generation_;
  std::mutex renew_mutex_;
  std::shared_ptr<Pipeline> pipeline_;
  std::atomic<std::uint64_t> seq_{0};
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
