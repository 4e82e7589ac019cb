// Tail sampling on the worker (contract §7.5): the events of a session are held until its
// session_end, then sent whole if the session is interesting (an error, a failed goal or end, a
// retry loop, a slow span or session) or, for a boring success, at the boring rate; otherwise
// dropped (or reduced to a skeleton: its first event and the annotated session_end).
//
// Bounded: a session holding more than the per-session event or byte limit, or the oldest
// session when all held events pass the total byte limit, is decided early as kept (its events
// go out at once and the rest of it passes through). Nothing is ever dropped without being
// counted: tail_dropped counts the events of dropped sessions.
//
// Worker-only (not thread-safe), except counts(), which any thread may call. Events spilled by
// callers (queue full) or by shutdown never pass here: they are written, as kept.
#pragma once

#include "promptetheus/export.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "promptetheus/policy.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class TailSampler {
 public:
  struct Limits {
    std::size_t session_events = 10000;
    std::size_t session_bytes = 8u << 20;
    std::size_t total_bytes = 64u << 20;
  };

  TailSampler(double head_sample_rate, policy::TailPolicy policy, Limits limits);

  /// Takes a batch of encoded events; leaves in `batch` what is to be sent now (events of
  /// sessions already kept, and the held events of sessions decided by this batch). Out of
  /// memory, everything it holds and the rest of the batch are left to send (kept). Never throws.
  void admit(std::vector<EncodedEvent>& batch) noexcept;

  /// Every event still held, as kept (shutdown): appended to `out`. Throws only std::bad_alloc
  /// (what could not be appended stays held).
  void release_all(std::vector<EncodedEvent>& out);

  struct Counts {
    std::uint64_t dropped = 0;         ///< events of sessions the decision dropped
    std::uint64_t held = 0;            ///< events held now
    std::uint64_t decided_early = 0;   ///< sessions kept because a bound was reached
  };
  Counts counts() const noexcept;

 private:
  struct Held {
    std::vector<EncodedEvent> events;
    std::size_t bytes = 0;
    std::uint64_t arrival = 0;  // order of the session's first held event (oldest first)
  };
  void admit_one(EncodedEvent&& event, std::vector<EncodedEvent>& out);
  void hold(EncodedEvent&& event, std::vector<EncodedEvent>& out);
  void decide(const std::string& session_id, std::vector<EncodedEvent>& out);
  void release(const std::string& session_id, std::vector<EncodedEvent>& out, bool early);
  void remember(const std::string& session_id, bool keep);
  void enforce_total(std::vector<EncodedEvent>& out);
  void add_skeleton(Held& held, const std::string& reason, std::vector<EncodedEvent>& out);

  const double head_sample_rate_;
  const policy::TailPolicy policy_;
  const Limits limits_;
  std::unordered_map<std::string, Held> held_;
  std::size_t held_bytes_ = 0;
  std::uint64_t next_arrival_ = 0;
  // Decisions of recent sessions, for their events that reach the worker after session_end
  // (events are FIFO per producer thread only). Bounded: the oldest are forgotten.
  std::unordered_map<std::string, bool> decided_;
  std::deque<std::string> decided_order_;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> held_count_{0};
  std::atomic<std::uint64_t> decided_early_{0};
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
