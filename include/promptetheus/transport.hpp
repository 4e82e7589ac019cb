// The delivery interface between the pipeline's worker thread and a destination
// (spool files, the HTTP API, memory, or a user's own).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "promptetheus/export.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// What became of one event handed to Transport::send. The transport sets it on every event;
/// the pipeline counts the outcomes (Stats), so a transport never counts anything itself.
enum class DeliveryOutcome : std::uint8_t {
  pending,        ///< not decided: what send() receives; counted as dropped if left so
  delivered,      ///< accepted by the destination
  spooled,        ///< appended to the spool, to be retried later
  dead_lettered,  ///< rejected by the destination, kept in the spool's dead-letter/ folder
  duplicate,      ///< the destination already had it (e.g. HTTP 409): nothing lost
  dropped,        ///< lost: it could be neither delivered nor written anywhere
};

/// One event, already serialised by the worker in the canonical JSON-spool form
/// (keys sorted, compact, ASCII-only escapes, no trailing newline), with the facts a transport
/// needs about it so that it never has to parse `json`.
struct EncodedEvent {
  std::string session_id;
  std::uint64_t seq = 0;
  std::string json;
  bool starts_session = false;  ///< the state_change "session_started" event
  bool ends_session = false;    ///< the session_end event
  DeliveryOutcome outcome = DeliveryOutcome::pending;
  /// The envelope's `type` ("tool_call", ...), a view of static storage; empty when the event
  /// (read back from a spool file) has a type the SDK does not know.
  std::string_view type;
  /// The envelope's `idempotency_key` (contract §1.2), the same text as in `json`.
  std::string idempotency_key;
  /// The session's trace, as the JSON body that creates it (POST /api/traces): built once per
  /// session from its session_started data and shared by all its events. Null when unknown:
  /// for an event read back from a spool file, only its session_started line carries it.
  std::shared_ptr<const std::string> trace_body;
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

/// A destination for events. The pipeline owns its transport exclusively (see
/// Options::transport_factory) and destroys it when the client shuts down. All methods are
/// called from the pipeline's single worker thread only (except interrupt()), never two at
/// once, so implementations need no locking of their own. Implementations must not throw.
class PROMPTETHEUS_API Transport {
 public:
  virtual ~Transport() = default;

  /// Takes a batch of events of any sessions, in queue order (FIFO per producer thread, so one
  /// session written from several threads may arrive out of seq order). Must set the outcome
  /// of every event before returning, and return by `deadline` as best it can. An event left
  /// `pending` counts as dropped: in `dropped_shutdown` when shutdown's deadline has passed (a
  /// transport may leave what it had no time for), else in `dropped_io_error`. The events'
  /// strings may be moved out.
  virtual void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept = 0;

  /// Called when the queue is empty: a chance to retry what earlier failed (spool replay).
  virtual void idle(const Deadline& /*deadline*/) noexcept {}

  /// Called once when the pipeline stops, after the last send(): make everything durable.
  virtual void close(const Deadline& /*deadline*/) noexcept {}

  /// Called from any thread when shutdown runs out of time: abort in-flight network I/O so that
  /// send() returns promptly (it then spools what it holds).
  virtual void interrupt() noexcept {}
};

PROMPTETHEUS_END_NAMESPACE
