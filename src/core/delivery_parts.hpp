// What a pipeline delivers through. The parts are chosen and built where the client is
// assembled (src/client/delivery_assembly.hpp); the pipeline in src/core sees only these
// interfaces, never a concrete transport or the spool.
#pragma once

#include "promptetheus/export.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/delivery_accounting.hpp"
#include "core/event_policy.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/status.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Where events go that cannot take the queue-and-transport path: the overflow of a full queue
/// (written on the calling thread), events recorded while shutdown stops the pipeline, and what
/// shutdown could not hand to the transport in time. The spool implements it. Thread-safe;
/// never throws.
class SpillTarget {
 public:
  /// A lock wait for a calling thread: never wait for another process.
  static constexpr Deadline kNoWait{Clock::time_point::min()};

  virtual ~SpillTarget() = default;
  /// Writes events of one session, in order. When another process holds the session's file
  /// (a replayer, another process writing the same session), waits for it until `lock_wait`
  /// and then gives up with `*locked_out` set (if given). Returns false when nothing was written.
  virtual bool append(std::string_view session_id, const std::vector<const EncodedEvent*>& events,
                      const Deadline& lock_wait, bool* locked_out = nullptr) noexcept = 0;
  /// Events removed since to keep within a size cap (Stats::dropped_spool_cap), counting those
  /// the transport wrote to the same place.
  virtual std::uint64_t removed_events() const noexcept = 0;
};

struct DeliveryParts {
  std::unique_ptr<Transport> transport;     ///< null: nothing is delivered (transport `off`)
  std::string name;                         ///< "http", "spool", "memory", "custom", "off"
  std::unique_ptr<SpillTarget> spill;       ///< null: nowhere to spill (counted as dropped)
  std::shared_ptr<TransportHealth> health;  ///< retries and circuit state (HTTP); may be null
  std::shared_ptr<const EventPolicy> policy;  ///< sampling and redaction; null when none is in force
  Status status;                            ///< why the parts differ from what was asked
};

/// Builds the parts for a set of options. Pipeline::create calls it, and calls it again in a
/// forked child that records (a fresh pipeline with the parent's options).
using DeliveryAssembler = DeliveryParts (*)(const Options& options) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
