#include "core/pipeline.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "core/files.hpp"
#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/registry.hpp"
#include "core/session_state.hpp"
#include "core/thread_context.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

constexpr std::size_t kDrainChunk = 1024;

// How long one delivery pass may take before what it could not deliver goes to the spool. It
// bounds how long an event waits only in memory, whatever the server does: an event recorded
// as a pass starts waits for that pass, at most one flush_interval, then its own pass, so it is
// delivered or on disk within flush_interval + 2 x this (docs/delivery.md promises + 1 s).
constexpr auto kDeliveryPassBudget = std::chrono::milliseconds(400);

// What a forked child abandons (the parent's pipelines and worker thread handles) is kept here,
// reachable for the life of the process: never destroyed, and not reported as a leak.
struct Abandoned {
  std::mutex mutex;
  std::vector<Pipeline*> pipelines;
  std::vector<std::thread*> threads;
};
Abandoned& abandoned() {
  static Abandoned* a = new Abandoned;
  return *a;
}

std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Writes an artifact's bytes (or copies its source file, through a small buffer: a recording
// may be large) before the event that references it. Artifacts are as private as spool files:
// 0600 files in 0700 directories.
void store_artifact(const ArtifactWrite& artifact) {
  const bool ok = artifact.copy_from.empty()
                      ? write_new_file(artifact.storage_path,
                                       std::string_view(reinterpret_cast<const char*>(artifact.bytes.data()),
                                                        artifact.bytes.size()))
                      : copy_new_file(artifact.copy_from, artifact.storage_path);
  if (!ok) log_warn("cannot write artifact " + artifact.storage_path);
}

// An internal-error Status, even when there is no memory left for its message.
Status internal_error(const char* what, const char* detail = "") noexcept {
  try {
    return Status(ErrorCode::internal, std::string(what) + detail);
  } catch (...) {
    return Status(ErrorCode::internal, std::string());
  }
}

}  // namespace

Pipeline::Pipeline(Options options, DeliveryAssembler assemble)
    : options_(std::move(options)), assemble_(assemble) {}

std::shared_ptr<Pipeline> Pipeline::create(Options options, DeliveryAssembler assemble, Status& status) noexcept {
  try {
    if (options.batch_size == 0) options.batch_size = 1;
    if (options.max_queue_events == 0) options.max_queue_events = 1;
    if (options.flush_interval.count() <= 0) options.flush_interval = std::chrono::milliseconds(200);
    // Pipelines of a forked child are abandoned, never destroyed: their queue and thread
    // belong to the parent's memory image.
    register_fork_handler();
    std::uint64_t generation = fork_generation();
    std::shared_ptr<Pipeline> pipeline(new Pipeline(std::move(options), assemble), [generation](Pipeline* p) {
      if (fork_generation() == generation) {
        delete p;
      } else {
        try {
          std::lock_guard<std::mutex> lock(abandoned().mutex);
          abandoned().pipelines.push_back(p);
        } catch (...) {
        }
      }
    });
    pipeline->fork_generation_ = generation;
    DeliveryParts parts = assemble(pipeline->options_);
    status = std::move(parts.status);
    pipeline->transport_ = std::move(parts.transport);
    pipeline->transport_name_ = std::move(parts.name);
    pipeline->spill_ = std::move(parts.spill);
    pipeline->health_ = std::move(parts.health);
    pipeline->policy_ = std::move(parts.policy);
    if (pipeline->options_.tail_sample) {
      const Options& o = pipeline->options_;
      pipeline->tail_ = std::make_unique<TailSampler>(
          o.sample_rate, o.tail_policy,
          TailSampler::Limits{o.tail_max_session_events, o.tail_max_session_bytes, o.tail_max_bytes});
    }
    if (pipeline->transport_) {
      pipeline->wake_every_ = std::max<std::size_t>(pipeline->options_.batch_size, kDrainChunk);
      if (!pipeline->start()) {
        status = Status(ErrorCode::internal, "cannot start the delivery thread; recording nothing");
        pipeline->transport_.reset();
        return pipeline;
      }
      register_pipeline(pipeline);
    }
    return pipeline;
  } catch (const std::exception& e) {
    status = internal_error("cannot start the pipeline: ", e.what());
    log_error(status.message());
    return nullptr;
  } catch (...) {
    status = internal_error("cannot start the pipeline");
    return nullptr;
  }
}

Pipeline::~Pipeline() {
  // Reached only when no worker holds a reference, i.e. the worker has exited or never started.
  if (worker_.joinable()) worker_.detach();
}

bool Pipeline::start() noexcept {
  // The worker must never run the host's async signal handlers: block them all while the
  // thread is created (it inherits the mask), then restore the caller's mask on every path.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  try {
    accepting_.store(true);
    has_worker_ = true;
    // The worker holds the pipeline while it runs; it lets go when it exits (after shutdown).
    auto self = shared_from_this();
    worker_ = std::thread([self] { self->run(); });
  } catch (const std::exception& e) {
    accepting_.store(false);
    has_worker_ = false;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    try {
      log_error(std::string("cannot start the worker thread: ") + e.what());
    } catch (...) {
      log_error("cannot start the worker thread");  // no memory to say more
    }
    return false;
  } catch (...) {
    accepting_.store(false);
    has_worker_ = false;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    log_error("cannot start the worker thread");
    return false;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  worker_id_ = worker_.get_id();
#ifdef __linux__
  pthread_setname_np(worker_.native_handle(), "prom-worker");
#endif
  return true;
}

Pipeline& Pipeline::active() noexcept {
  if (fork_generation() == fork_generation_) return *this;
  auto shared = active_shared();
  return shared ? *shared : *this;
}

std::shared_ptr<Pipeline> Pipeline::active_shared() noexcept {
  if (fork_generation() == fork_generation_) return shared_from_this();
  // In a forked child: build one successor, lazily, with the same options.
  std::shared_ptr<Pipeline>* successor = successor_.load(std::memory_order_acquire);
  if (successor) return (*successor)->active_shared();
  Status status;
  auto fresh = create(options_, assemble_, status);
  if (!fresh) return nullptr;
  auto* holder = new std::shared_ptr<Pipeline>(fresh);  // lives as long as the process
  std::shared_ptr<Pipeline>* expected = nullptr;
  if (!successor_.compare_exchange_strong(expected, holder)) {
    (void)fresh->shutdown(std::chrono::milliseconds(0));
    delete holder;
    return (*expected)->active_shared();
  }
  return fresh;
}

bool Pipeline::enqueue(Event&& event) noexcept {
  if (fork_generation() != fork_generation_) {
    Pipeline& successor = active();
    return &successor != this && successor.enqueue(std::move(event));
  }
  if (!accepting_.load(std::memory_order_relaxed)) return false;
  std::uint64_t bytes = event.approx_bytes;
  // Count the event before the decisive accepting check (both sequentially consistent):
  // shutdown clears accepting_ and then waits for completed_ to reach enqueued_, so either it
  // sees this event counted, or this producer sees accepting_ cleared and spills the event.
  std::uint64_t offered = enqueued_.fetch_add(1, std::memory_order_seq_cst) + 1;
  if (!accepting_.load(std::memory_order_seq_cst)) {
    bool written = spill_late(std::move(event));
    completed_.fetch_add(1, std::memory_order_release);
    return written;
  }
  // Other producers may have counted and completed events after this one was counted, so
  // completed_ can be ahead of `offered`: then the queue is nearly empty, not 2^64 deep.
  const std::uint64_t completed = completed_.load(std::memory_order_relaxed);
  const std::uint64_t depth = offered > completed ? offered - completed : 0;
  std::uint64_t queued_bytes = queue_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (depth > options_.max_queue_events || queued_bytes > options_.max_queue_bytes) {
    queue_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    bool written = spill(std::move(event));
    completed_.fetch_add(1, std::memory_order_release);
    return written;
  }
  if (!queue_.enqueue(std::move(event))) {
    queue_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    completed_.fetch_add(1, std::memory_order_release);
    return false;
  }
  if (depth % wake_every_ == 0) wake_.signal();
  return true;
}

bool Pipeline::spool_one(Event& event, bool* locked_out, bool* spooled) noexcept {
  if (spooled) *spooled = false;
  if (!spill_) return false;
  EncodedEvent encoded;
  switch (encode_into(event, encoded)) {
    case Encoding::sampled_out: return true;  // counted; nothing to write
    case Encoding::failed: return false;
    case Encoding::encoded: break;
  }
  std::vector<const EncodedEvent*> one{&encoded};
  // On the caller's thread: a file locked by another process is not waited for.
  if (!spill_->append(encoded.session_id, one, SpillTarget::kNoWait, locked_out)) return false;
  spooled_.fetch_add(1, std::memory_order_relaxed);
  if (spooled) *spooled = true;
  return true;
}

bool Pipeline::spill(Event&& event) noexcept {
  if (spill_ && options_.overflow_to_spool) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) log_warn("event queue full: spilling events to the spool");
    bool locked_out = false;
    bool spooled = false;
    if (spool_one(event, &locked_out, &spooled)) {
      if (spooled) overflow_spilled_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    // A file locked by another process is no I/O error: the queue was full and the spool could
    // not take the event without waiting.
    (locked_out ? dropped_queue_full_ : dropped_io_error_).fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool Pipeline::spill_late(Event&& event) noexcept {
  if (spool_one(event)) return true;
  dropped_shutdown_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

namespace {

bool is_session_started(const Event& event) {
  if (event.type != EventType::state_change || event.payload.size() == 0) return false;
  const Field& name = event.payload[0];
  const auto* value = std::get_if<std::string>(&name.value);
  return value && std::strcmp(name.key, "name") == 0 && *value == "session_started";
}

}  // namespace

Pipeline::Encoding Pipeline::encode_into(Event& event, EncodedEvent& out) noexcept {
  out.json.clear();
  out.outcome = DeliveryOutcome::pending;
  try {
    const SessionInfo& session = *event.session;
    out.session_id = session.id();
    out.seq = event.seq;
    out.type = kEventTypes[static_cast<std::size_t>(event.type)];
    // Assigned, not constructed: the worker's encoded events keep their strings' capacity.
    out.idempotency_key = session.key_prefix();
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, event.seq).ptr;
    out.idempotency_key.append(digits, end);
    if (policy_ && !policy_->keep(event, out.idempotency_key)) {
      out.outcome = DeliveryOutcome::dropped;
      sampled_out_.fetch_add(1, std::memory_order_relaxed);
      return Encoding::sampled_out;
    }
    if (event.artifact) store_artifact(*event.artifact);
    // The worker's encoded events are reused batch after batch, mostly for the same sessions:
    // keeping a reference that is already right saves two atomic operations on a reference
    // count the producers are updating too.
    const std::string& body = policy_ ? session.redacted_trace_body(*policy_) : session.trace_body();
    if (out.trace_body.get() != &body) out.trace_body = std::shared_ptr<const std::string>(event.session, &body);
    out.starts_session = is_session_started(event);
    out.ends_session = event.type == EventType::session_end;
    out.json.reserve(256 + event.approx_bytes / 2);
    if (policy_) {
      if (!policy_->write(event, out.json)) throw std::bad_alloc();
    } else {
      write_event(out.json, event);
    }
    return Encoding::encoded;
  } catch (...) {
    // Never hand a transport a half-written line: the event is dropped and counted instead.
    out.json.clear();
    out.outcome = DeliveryOutcome::dropped;
    log_error("cannot serialise an event; it is dropped");
    return Encoding::failed;
  }
}

std::size_t Pipeline::drain_once(moodycamel::ConsumerToken& token, std::vector<Event>& buffer,
                                 std::vector<EncodedEvent>& encoded, const Deadline& deadline) noexcept {
  std::size_t n = queue_.try_dequeue_bulk(token, buffer.begin(), buffer.size());
  if (n == 0) return 0;
  // Reuse the strings of the previous batch (their capacity) unless a transport took them.
  std::uint64_t bytes = 0;
  encoded.resize(n);
  // Queue order: FIFO per producer thread, so a session written from several threads can
  // arrive out of seq order. Consumers order by seq (contract §1.1); transports group by session.
  std::size_t unserialisable = 0;
  std::size_t not_sent = 0;  // unserialisable or sampled out
  for (std::size_t k = 0; k < n; ++k) {
    bytes += buffer[k].approx_bytes;
    switch (encode_into(buffer[k], encoded[k])) {
      case Encoding::encoded: break;
      case Encoding::sampled_out: ++not_sent; break;
      case Encoding::failed: ++unserialisable, ++not_sent; break;
    }
  }
  if (not_sent > 0) {
    // Such events never reach the transport (unserialisable ones are rare: out of memory).
    dropped_io_error_.fetch_add(unserialisable, std::memory_order_relaxed);
    encoded.erase(std::remove_if(encoded.begin(), encoded.end(),
                                 [](const EncodedEvent& e) { return e.outcome == DeliveryOutcome::dropped; }),
                  encoded.end());
  }
  // The events stay in `buffer` until the next dequeue assigns over them (or the worker exits):
  // resetting them here would only add a construction and a destruction per event.
  if (tail_) tail_->admit(encoded);  // holds what waits for its session's end
  if (!encoded.empty()) {
    try {
      transport_->send(encoded, deadline);
    } catch (...) {
      log_error("transport failed to send a batch");
    }
    count_outcomes(encoded);
  }
  queue_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  completed_.fetch_add(n, std::memory_order_release);
  notify_flush_waiters();
  return n;
}

void Pipeline::count_outcomes(const std::vector<EncodedEvent>& events) noexcept {
  OutcomeTally tally;
  tally.add(events);
  const Deadline stop_deadline{Clock::time_point(std::chrono::nanoseconds(stop_deadline_ns_.load()))};
  if (tally.pending > 0 && stop_.load(std::memory_order_acquire) && stop_deadline.expired()) {
    // Shutdown ran out of time while the transport held these.
    dropped_shutdown_.fetch_add(tally.pending, std::memory_order_relaxed);
    tally.pending = 0;
  } else if (tally.pending > 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) log_warn("the transport left events without an outcome; they count as dropped");
  }
  delivered_.fetch_add(tally.delivered, std::memory_order_relaxed);
  spooled_.fetch_add(tally.spooled, std::memory_order_relaxed);
  dead_lettered_.fetch_add(tally.dead_lettered, std::memory_order_relaxed);
  duplicate_.fetch_add(tally.duplicate, std::memory_order_relaxed);
  dropped_io_error_.fetch_add(tally.dropped + tally.pending, std::memory_order_relaxed);
}

void Pipeline::notify_flush_waiters() noexcept {
  if (waiters_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard<std::mutex> lock(wait_mutex_);
  wait_cv_.notify_all();
}

void Pipeline::run() noexcept {
  moodycamel::ConsumerToken token(queue_);
  // The batch buffers are members, not locals, so that a forked child (which abandons this
  // pipeline without this thread) still reaches them and no tool reports them as leaked.
  std::vector<Event>& buffer = worker_buffer_;
  std::vector<EncodedEvent>& encoded = worker_encoded_;
  buffer.resize(kDrainChunk);
  encoded.reserve(kDrainChunk);
  const auto interval_us = std::chrono::duration_cast<std::chrono::microseconds>(options_.flush_interval).count();
  for (;;) {
    bool stopping = stop_.load(std::memory_order_acquire);
    if (!stopping && !urgent_.load(std::memory_order_acquire)) wake_.wait(interval_us);
    urgent_.store(false, std::memory_order_release);
    stopping = stop_.load(std::memory_order_acquire);
    Deadline deadline = stopping ? Deadline{Clock::time_point(std::chrono::nanoseconds(stop_deadline_ns_.load()))}
                                 : Deadline::after(kDeliveryPassBudget);
    std::size_t drained = 0;
    for (;;) {
      std::size_t n = drain_once(token, buffer, encoded, deadline);
      drained += n;
      if (n < buffer.size()) break;
      // Out of time: shutdown spills what is left straight to the spool.
      if (stopping && deadline.expired()) break;
    }
    if (stopping) {
      // Producers that passed the accepting check just before stop may still be mid-enqueue:
      // wait for them (briefly, within the deadline) so nothing queued is left behind.
      if (completed_.load() >= enqueued_.load() || deadline.expired()) break;
      std::this_thread::yield();
      continue;
    }
    if (drained == 0) {
      try {
        // Replay is bounded like a pass: events recorded meanwhile wait in memory.
        transport_->idle(Deadline::after(std::min<Clock::duration>(options_.flush_interval, kDeliveryPassBudget)));
      } catch (...) {
      }
    }
  }
  if (tail_) {
    // Sessions still held at shutdown are kept: sent (or spooled by the transport) like the rest.
    std::vector<EncodedEvent> held;
    try {
      tail_->release_all(held);
      if (!held.empty()) {
        transport_->send(held, Deadline{Clock::time_point(std::chrono::nanoseconds(stop_deadline_ns_.load()))});
      }
    } catch (...) {
      log_error("cannot hand the events held for tail sampling to the transport");
    }
    // Those the transport did not settle (it threw, or ran out of time) are counted as pending.
    count_outcomes(held);
  }
  try {
    transport_->close(Deadline{Clock::time_point(std::chrono::nanoseconds(stop_deadline_ns_.load()))});
  } catch (...) {
  }
  // Let go of everything the worker held: the last batch (its events), and the transport with
  // its connections. Under the lock, because shutdown() may interrupt the transport meanwhile.
  buffer = std::vector<Event>();
  encoded = std::vector<EncodedEvent>();
  std::unique_ptr<Transport> transport;
  {
    std::lock_guard<std::mutex> lock(wait_mutex_);
    transport = std::move(transport_);
    worker_exited_ = true;
  }
  transport.reset();  // outside the lock: a transport may take time to close its sockets
  wait_cv_.notify_all();
}

bool Pipeline::on_worker_thread() const noexcept { return std::this_thread::get_id() == worker_id_; }

bool Pipeline::flush(std::chrono::milliseconds timeout) noexcept {
  try {
    if (fork_generation() != fork_generation_) {
      Pipeline& successor = active();
      return &successor == this || successor.flush(timeout);
    }
    if (!has_worker_ || shutdown_called_.load()) return true;
    if (on_worker_thread()) return false;  // would wait for itself
    const std::uint64_t target = enqueued_.load(std::memory_order_acquire);
    auto deadline = Clock::now() + timeout;
    urgent_.store(true, std::memory_order_release);
    wake_.signal();
    std::unique_lock<std::mutex> lock(wait_mutex_);
    waiters_.fetch_add(1);
    bool done = wait_cv_.wait_until(lock, deadline, [&] {
      return completed_.load(std::memory_order_acquire) >= target || worker_exited_;
    });
    waiters_.fetch_sub(1);
    return done && completed_.load() >= target;
  } catch (...) {
    return false;
  }
}

bool Pipeline::shutdown(std::chrono::milliseconds timeout) noexcept {
  try {
    // A later call reports how the first one went (false while it is still running).
    if (shutdown_called_.exchange(true)) return shutdown_clean_.load();
    accepting_.store(false, std::memory_order_seq_cst);
    if (fork_generation() != fork_generation_) {
      // A forked child must not touch the parent's thread: abandon it (the handle is leaked on
      // purpose so that no std::thread destructor runs on it) and stop the successor, if any.
      {
        std::lock_guard<std::mutex> lock(abandoned().mutex);
        abandoned().threads.push_back(new std::thread(std::move(worker_)));
      }
      auto* successor = successor_.load();
      bool clean = successor ? (*successor)->shutdown(timeout) : true;
      shutdown_clean_.store(clean);
      return clean;
    }
    unregister_pipeline(this);
    if (!has_worker_ || !worker_.joinable()) {
      shutdown_clean_.store(true);
      return true;
    }
    if (on_worker_thread()) return false;
    if (timeout.count() < 0) timeout = std::chrono::milliseconds(0);
    const auto deadline = Clock::now() + timeout;
    // The worker drains until `deadline - grace`; the grace is for interrupting what it is still
    // doing. What it could not take is then spooled (or, past the deadline, counted).
    const auto grace = std::min<Clock::duration>(std::chrono::milliseconds(250), timeout / 4);
    const auto worker_deadline = deadline - grace;
    stop_deadline_ns_.store(to_ns(worker_deadline));
    stop_.store(true, std::memory_order_release);
    wake_.signal();
    std::unique_lock<std::mutex> lock(wait_mutex_);
    bool exited = wait_cv_.wait_until(lock, worker_deadline, [&] { return worker_exited_; });
    if (!exited) {
      if (transport_) transport_->interrupt();  // the worker frees it under this lock
      // The interrupted transport stops between writes (the spool transport between sessions,
      // HTTP at once, spooling what it held). Half the grace is for it to return, half for
      // spilling the queue should it not.
      exited = wait_cv_.wait_until(lock, deadline - grace / 2, [&] { return worker_exited_; });
    }
    lock.unlock();
    if (exited) {
      worker_.join();
    } else {
      // The worker holds its own reference to this pipeline, so detaching is safe. The batch
      // it holds is counted when its send() returns.
      log_warn("shutdown timed out; the delivery thread is left to finish on its own");
      worker_.detach();
    }
    // Whatever the worker could not take before its deadline goes to the spool from here.
    spill_leftovers(deadline, exited);
    bool clean = exited && completed_.load() >= enqueued_.load();
    shutdown_clean_.store(clean);
    return clean;
  } catch (...) {
    return false;
  }
}

std::size_t Pipeline::spill_to_spool(Event* events, std::size_t count, std::atomic<std::uint64_t>& failure,
                                     Clock::time_point deadline) noexcept {
  std::size_t written = 0;
  std::size_t handled = 0;
  try {
    // One append per session (in order of first appearance): thousands of sessions are written
    // in thousands of appends, not one per event.
    std::vector<std::vector<EncodedEvent>> groups;
    std::unordered_map<const SessionInfo*, std::size_t> index;
    for (std::size_t k = 0; k < count; ++k) {
      Event& event = events[k];
      auto [it, inserted] = index.emplace(event.session.get(), groups.size());
      if (inserted) groups.emplace_back();
      EncodedEvent encoded;
      switch (encode_into(event, encoded)) {
        case Encoding::encoded:
          groups[it->second].push_back(std::move(encoded));
          break;
        case Encoding::sampled_out:  // counted
          ++handled;
          break;
        case Encoding::failed:
          dropped_io_error_.fetch_add(1, std::memory_order_relaxed);
          ++handled;
          break;
      }
    }
    for (const auto& group : groups) {
      if (group.empty()) continue;
      if (Clock::now() >= deadline) {  // out of time: counted, not written
        failure.fetch_add(group.size(), std::memory_order_relaxed);
        handled += group.size();
        continue;
      }
      std::vector<const EncodedEvent*> view;
      view.reserve(group.size());
      for (const auto& e : group) view.push_back(&e);
      bool ok = spill_ && spill_->append(group.front().session_id, view, Deadline{deadline});
      (ok ? spooled_ : failure).fetch_add(group.size(), std::memory_order_relaxed);
      if (ok) written += group.size();
      handled += group.size();
    }
  } catch (...) {
    failure.fetch_add(count - handled, std::memory_order_relaxed);
  }
  return written;
}

void Pipeline::spill_leftovers(Clock::time_point deadline, bool worker_exited) noexcept {
  try {
    std::vector<Event> batch(kDrainChunk);
    for (;;) {
      std::size_t n = queue_.try_dequeue_bulk(batch.begin(), batch.size());
      if (n == 0) {
        // A producer that passed the accepting check just before shutdown may still be
        // between its count and its enqueue (a few instructions): wait for it within the
        // budget, but only once the worker is gone (else its in-flight batch would hold us).
        if (!worker_exited || completed_.load() >= enqueued_.load() || Clock::now() >= deadline) break;
        std::this_thread::yield();
        continue;
      }
      std::uint64_t bytes = 0;
      for (std::size_t k = 0; k < n; ++k) bytes += batch[k].approx_bytes;
      if (Clock::now() < deadline && spill_) {
        spill_to_spool(batch.data(), n, dropped_shutdown_, deadline);
      } else {
        // Out of time (or nowhere to write): counted, never silently lost.
        dropped_shutdown_.fetch_add(n, std::memory_order_relaxed);
      }
      queue_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      completed_.fetch_add(n, std::memory_order_release);
    }
  } catch (...) {
  }
  notify_flush_waiters();
}

Stats Pipeline::stats() const noexcept {
  Stats s;
  try {
    s.enqueued = enqueued_.load();
    s.delivered = delivered_.load();
    s.spooled = spooled_.load();
    s.overflow_spilled = overflow_spilled_.load();
    s.written = s.delivered + s.spooled;
    s.dead_lettered = dead_lettered_.load();
    s.retries = health_ ? health_->retries.load() : 0;
    s.artifacts_uploaded = health_ ? health_->uploaded_artifacts.load() : 0;
    s.artifacts_dead_lettered = health_ ? health_->dead_lettered_artifacts.load() : 0;
    if (health_) {
      s.otlp_spans_exported = health_->otlp_exported_spans.load();
      s.otlp_spans_pending = health_->otlp_pending_spans.load();
      s.otlp_spans_rejected = health_->otlp_rejected_spans.load();
      s.otlp_spans_dropped = health_->otlp_dropped_spans.load();
      s.otlp_span_events_dropped = health_->otlp_dropped_span_events.load();
    }
    s.dropped_queue_full = dropped_queue_full_.load();
    s.dropped_after_end = dropped_after_end_.load();
    s.dropped_invalid = dropped_invalid_.load();
    s.dropped_io_error = dropped_io_error_.load();
    s.dropped_shutdown = dropped_shutdown_.load();
    s.dropped_duplicate = duplicate_.load();
    s.dropped_spool_cap = spill_ ? spill_->removed_events() : 0;
    s.sampled_out = sampled_out_.load();
    s.sessions_sampled_out = sessions_sampled_out_.load();
    if (tail_) {
      const TailSampler::Counts counts = tail_->counts();
      s.tail_dropped = counts.dropped;
      s.tail_held = counts.held;
      s.tail_decided_early = counts.decided_early;
    }
    if (policy_) {
      const EventPolicy::Counts counts = policy_->counts();
      s.redacted = counts.redacted;
      s.redaction_failed = counts.failed;
      s.truncated = counts.truncated;
    }
    s.no_session = no_session_calls();
    std::uint64_t completed = completed_.load();
    s.queue_depth = s.enqueued > completed ? s.enqueued - completed : 0;
    static const char* const states[] = {"closed", "open", "half_open"};
    int state = health_ ? health_->circuit_state.load() : 0;
    s.circuit_state = state >= 0 && state <= 2 ? states[state] : "closed";
    s.transport = transport_name_;
  } catch (...) {
  }
  return s;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
