// The pipeline: a bounded lock-free queue, one worker thread, and a transport.
//
// Caller threads: Pipeline::enqueue() takes an Event (no I/O, no lock, no syscall unless the
// queue is full) and never blocks. The worker wakes every flush_interval, or early every
// max(batch_size, 1024) events and on flush/shutdown, drains the queue in bulk, serialises
// events, hands them to the transport and counts the outcome the transport set on each. Flush
// and shutdown use counters (enqueued vs completed), not queue markers, because the queue is
// FIFO only per producer.
//
// Ownership runs one way: Client -> Pipeline -> worker thread, transport, queue -> Event ->
// SessionInfo. Nothing the pipeline holds refers back to it, so destroying the Client (after
// its shutdown) frees the pipeline, its transport and their sockets at once. The worker
// releases the transport when it exits; a Session that outlives its client keeps only an inert
// pipeline shell (no thread, no transport).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>
#include <concurrentqueue/lightweightsemaphore.h>

#include "core/delivery_accounting.hpp"
#include "core/delivery_parts.hpp"
#include "core/event.hpp"
#include "core/event_policy.hpp"
#include "core/tail_sampler.hpp"
#include "promptetheus/client.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/status.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class Pipeline : public std::enable_shared_from_this<Pipeline> {
 public:
  /// Builds its transport and spill target with `assemble` and starts the worker. Never throws;
  /// `status` says how it went (a pipeline whose transport could not be built falls back to the
  /// spool; one whose worker could not start is inert and reports an error).
  static std::shared_ptr<Pipeline> create(Options options, DeliveryAssembler assemble, Status& status) noexcept;
  ~Pipeline();

  /// The pipeline to use now: this one, or after fork() in the child a fresh one with the same
  /// options (built on first use; the parent's thread and queue are never touched).
  Pipeline& active() noexcept;
  std::shared_ptr<Pipeline> active_shared() noexcept;

  /// Hot path. Queues the event, or spills it to the spool / drops it when the queue is full.
  /// Returns true when the event will be written. Never blocks, never throws.
  bool enqueue(Event&& event) noexcept;
  bool accepting() const noexcept { return accepting_.load(std::memory_order_relaxed); }

  bool flush(std::chrono::milliseconds timeout) noexcept;
  bool shutdown(std::chrono::milliseconds timeout) noexcept;
  Stats stats() const noexcept;
  const Options& options() const noexcept { return options_; }

  void count_dropped_after_end() noexcept { dropped_after_end_.fetch_add(1, std::memory_order_relaxed); }
  /// A session not recorded by head sampling (Options::sample_rate).
  void count_session_sampled_out() noexcept { sessions_sampled_out_.fetch_add(1, std::memory_order_relaxed); }
  void count_dropped_invalid() noexcept { dropped_invalid_.fetch_add(1, std::memory_order_relaxed); }

  enum class Encoding { encoded, sampled_out, failed };
  /// Serialises one event through the policy (per-type sampling, then redaction) and stores its
  /// artifact bytes first. Used by the worker and by the overflow and shutdown spills. An event
  /// sampled out is counted here; on `failed` the caller counts it. Either way `out.json` is
  /// left empty and `out.outcome` is `dropped`.
  Encoding encode_into(Event& event, EncodedEvent& out) noexcept;

 private:
  Pipeline(Options options, DeliveryAssembler assemble);
  bool start() noexcept;
  void run() noexcept;
  std::size_t drain_once(moodycamel::ConsumerToken& token, std::vector<Event>& buffer,
                         std::vector<EncodedEvent>& encoded, const Deadline& deadline) noexcept;
  /// Counts the outcomes a transport set on `events`. Pending ones count as dropped_shutdown
  /// once shutdown's deadline has passed, else as dropped_io_error.
  void count_outcomes(const std::vector<EncodedEvent>& events) noexcept;
  /// Writes events to the spill target, one append per session, until `deadline`; returns how
  /// many were written. Those not written count as `failure`.
  std::size_t spill_to_spool(Event* events, std::size_t count, std::atomic<std::uint64_t>& failure,
                             Clock::time_point deadline) noexcept;
  /// Writes one event to the spill target and counts it as spooled (or as sampled out); false
  /// (uncounted) when it could not, with `*locked_out` set when its file was locked. Never waits
  /// for another process's lock (it runs on caller threads). `*spooled` says whether it was written.
  bool spool_one(Event& event, bool* locked_out = nullptr, bool* spooled = nullptr) noexcept;
  bool spill(Event&& event) noexcept;
  /// An event enqueued while shutdown was stopping the pipeline: spooled or counted.
  bool spill_late(Event&& event) noexcept;
  /// Spools (or, past `deadline`, counts as dropped_shutdown) what is still queued.
  void spill_leftovers(Clock::time_point deadline, bool worker_exited) noexcept;
  void notify_flush_waiters() noexcept;
  bool on_worker_thread() const noexcept;

  Options options_;
  DeliveryAssembler assemble_;             // builds the parts (again in a forked child)
  std::string transport_name_;
  std::unique_ptr<SpillTarget> spill_;     // set when events may spill (to the spool)
  std::shared_ptr<const EventPolicy> policy_;  // sampling and redaction; null when none is in force
  std::unique_ptr<TailSampler> tail_;          // worker only (counts: any thread); null unless tail_sample
  std::unique_ptr<Transport> transport_;   // worker only; released by the worker when it exits
  bool has_worker_ = false;                // a worker was started (immutable after create)
  std::shared_ptr<TransportHealth> health_;  // retries and circuit state, when the transport has them

  moodycamel::ConcurrentQueue<Event> queue_;
  moodycamel::LightweightSemaphore wake_;
  std::size_t wake_every_ = 1024;
  std::vector<Event> worker_buffer_;          // worker only: the batch being drained
  std::vector<EncodedEvent> worker_encoded_;  // worker only: its serialised form

  // enqueued_ counts every event offered to the queue (including those then spilled or dropped,
  // which complete at once); completed_ counts events fully handled. flush waits for equality.
  alignas(64) std::atomic<std::uint64_t> enqueued_{0};
  alignas(64) std::atomic<std::uint64_t> queue_bytes_{0};
  alignas(64) std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> spooled_{0};
  std::atomic<std::uint64_t> dead_lettered_{0};
  std::atomic<std::uint64_t> duplicate_{0};
  std::atomic<std::uint64_t> dropped_io_error_{0};
  std::atomic<std::uint64_t> overflow_spilled_{0};
  std::atomic<std::uint64_t> dropped_queue_full_{0};
  std::atomic<std::uint64_t> dropped_after_end_{0};
  std::atomic<std::uint64_t> dropped_invalid_{0};
  std::atomic<std::uint64_t> dropped_shutdown_{0};
  std::atomic<std::uint64_t> sampled_out_{0};
  std::atomic<std::uint64_t> sessions_sampled_out_{0};

  std::atomic<bool> accepting_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> urgent_{false};
  std::atomic<bool> shutdown_called_{false};
  std::atomic<bool> shutdown_clean_{false};  // the first shutdown handled everything in time
  std::atomic<std::int64_t> stop_deadline_ns_{0};

  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;
  std::atomic<int> waiters_{0};
  bool worker_exited_ = false;  // guarded by wait_mutex_
  std::thread worker_;
  std::thread::id worker_id_;

  std::uint64_t fork_generation_ = 0;
  std::atomic<std::shared_ptr<Pipeline>*> successor_{nullptr};
};

/// The default client's pipeline (null before init() or after shutdown()). Thread-safe.
std::shared_ptr<Pipeline> default_pipeline() noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
