// Counting what transports did: the outcomes they set on events, and the health figures of a
// transport that retries (HTTP). The pipeline is the only place that turns outcomes into Stats.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Outcomes of a set of events, by kind. Not thread-safe (a value type).
struct OutcomeTally {
  std::uint64_t pending = 0, delivered = 0, spooled = 0, dead_lettered = 0, duplicate = 0, dropped = 0;

  void add(DeliveryOutcome outcome, std::uint64_t n = 1) noexcept {
    switch (outcome) {
      case DeliveryOutcome::pending: pending += n; break;
      case DeliveryOutcome::delivered: delivered += n; break;
      case DeliveryOutcome::spooled: spooled += n; break;
      case DeliveryOutcome::dead_lettered: dead_lettered += n; break;
      case DeliveryOutcome::duplicate: duplicate += n; break;
      case DeliveryOutcome::dropped: dropped += n; break;
    }
  }
  void add(const std::vector<EncodedEvent>& events) noexcept {
    for (const auto& e : events) add(e.outcome);
  }
  std::uint64_t total() const noexcept { return pending + delivered + spooled + dead_lettered + duplicate + dropped; }
};

/// Figures a retrying transport publishes for Stats; written by the worker, read by any thread.
struct TransportHealth {
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> delivered_batches{0};
  std::atomic<std::uint64_t> circuit_skipped_batches{0};
  std::atomic<std::uint64_t> replayed_events{0};  ///< spooled earlier, delivered by a replay
  /// Events of replayed batches accounted for (delivered, dead-lettered or duplicate), counted
  /// as each batch ends: what a progress display reads while a replay runs.
  std::atomic<std::uint64_t> replay_handled_events{0};
  std::atomic<std::uint64_t> uploaded_artifacts{0};       ///< artifact files the API took
  std::atomic<std::uint64_t> dead_lettered_artifacts{0};  ///< refused for good, kept in dead-letter/
  // The OpenTelemetry destination (OtlpExporter), counted in spans.
  std::atomic<std::uint64_t> otlp_exported_spans{0};  ///< taken by the endpoint
  std::atomic<std::uint64_t> otlp_pending_spans{0};   ///< waiting in the OTLP outbox
  std::atomic<std::uint64_t> otlp_rejected_spans{0};  ///< refused (partial success, or kept in dead-letter/otlp)
  std::atomic<std::uint64_t> otlp_dropped_spans{0};   ///< lost: outbox cap, or not writable
  /// Events left out of their span: the builder's bound on held span events, or out of memory.
  std::atomic<std::uint64_t> otlp_dropped_span_events{0};
  std::atomic<int> circuit_state{0};              ///< 0 = closed, 1 = open, 2 = half-open
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
