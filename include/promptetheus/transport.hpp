// The delivery interface between the pipeline's worker thread and a destination
// (spool files, the HTTP API, memory, or a user's own).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "promptetheus/export.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// One event, already serialised by the worker in the canonical JSON-spool form
/// (keys sorted, compact, ASCII-only escapes, no trailing newline).
struct EncodedEvent {
  std::string session_id;
  std::uint64_t seq = 0;
  std::string json;
};

using Clock = std::chrono::steady_clock;

/// A point in time by which a transport call must return.
struct Deadline {
  Clock::time_point at = Clock::time_point::max();
  bool expired() const noexcept { return Clock::now() >= at; }
  Clock::duration remaining() const noexcept {
    auto now = Clock::now();
    return at > now ? at - now : Clock::duration::zero();
  }
  static Deadline after(Clock::duration d) noexcept {
    auto now = Clock::now();
    if (d >= Clock::time_point::max() - now) return Deadline{};
    return Deadline{now + d};
  }
  static Deadline none() noexcept { return Deadline{}; }
};

/// Counters every transport reports its outcomes into. Each event handed to
/// Transport::send ends in exactly one of: delivered, spooled, dead_lettered, dropped
/// (safe_dropped counts 409s, which the server already has). Thread-safe (atomics).
struct DeliveryCounters {
  std::atomic<std::uint64_t> delivered_events{0};
  std::atomic<std::uint64_t> delivered_batches{0};
  std::atomic<std::uint64_t> spooled_events{0};
  std::atomic<std::uint64_t> dead_lettered_events{0};
  std::atomic<std::uint64_t> safe_dropped_events{0};
  std::atomic<std::uint64_t> dropped_io_error{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> circuit_skipped_batches{0};
  std::atomic<std::uint64_t> replayed_events{0};
  /// 0 = closed, 1 = open, 2 = half-open.
  std::atomic<int> circuit_state{0};
};

/// A destination for events. All methods are called from the pipeline's single worker thread
/// only (except interrupt()), so implementations need no locking of their own.
/// Implementations must not throw: every method is noexcept and failures are counted.
class PROMPTETHEUS_API Transport {
 public:
  virtual ~Transport() = default;

  /// Takes a batch of events of any sessions, in queue order (FIFO per producer thread, so one
  /// session written from several threads may arrive out of seq order). Must account
  /// every event in `counters` before returning, and return by `deadline` as best it can.
  virtual void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept = 0;

  /// Called when the queue is empty: a chance to retry what earlier failed (spool replay).
  virtual void idle(const Deadline& /*deadline*/) noexcept {}

  /// Called once when the pipeline stops, after the last send(): make everything durable.
  virtual void close(const Deadline& /*deadline*/) noexcept {}

  /// Called from any thread when shutdown runs out of time: abort in-flight network I/O so that
  /// send() returns promptly (it then spools what it holds).
  virtual void interrupt() noexcept {}

  /// Wired by the pipeline before the first send(); outcomes are counted here.
  void attach_counters(DeliveryCounters* counters) noexcept { counters_ = counters; }

 protected:
  DeliveryCounters& counters() noexcept { return *counters_; }

 private:
  DeliveryCounters fallback_counters_;
  DeliveryCounters* counters_ = &fallback_counters_;
};

PROMPTETHEUS_END_NAMESPACE
