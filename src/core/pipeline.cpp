#include "core/pipeline.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <fstream>

#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/registry.hpp"
#include "core/session_state.hpp"
#include "transport/memory_transport.hpp"
#include "transport/spool_transport.hpp"
#include "transport/transport_factory.hpp"

namespace promptetheus::detail {
namespace {

constexpr std::size_t kDrainChunk = 1024;

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

// Writes an artifact's bytes (or copies its source file) before the event that references it.
// Artifacts are as private as spool files: 0600 files in 0700 directories.
void store_artifact(const ArtifactWrite& artifact) {
  std::string data;
  if (!artifact.copy_from.empty()) {
    std::ifstream in(artifact.copy_from, std::ios::binary);
    if (!in) {
      log_warn("cannot read artifact source " + artifact.copy_from);
      return;
    }
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    data.assign(artifact.bytes.begin(), artifact.bytes.end());
  }
  // Each artifact id is fresh, so appending to a new file writes it whole.
  if (!Spool::append_file(artifact.storage_path, data)) log_warn("cannot write artifact " + artifact.storage_path);
}

}  // namespace

Pipeline::Pipeline(Options options) : options_(std::move(options)) {}

std::shared_ptr<Pipeline> Pipeline::create(Options options, Status& status) noexcept {
  try {
    if (options.batch_size == 0) options.batch_size = 1;
    if (options.max_queue_events == 0) options.max_queue_events = 1;
    if (options.flush_interval.count() <= 0) options.flush_interval = std::chrono::milliseconds(200);
    // Pipelines of a forked child are abandoned, never destroyed: their queue and thread
    // belong to the parent's memory image.
    register_fork_handler();
    std::uint64_t generation = fork_generation();
    std::shared_ptr<Pipeline> pipeline(new Pipeline(std::move(options)), [generation](Pipeline* p) {
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
    TransportChoice choice = make_transport(pipeline->options_);
    status = choice.status;
    pipeline->transport_ = std::move(choice.transport);
    pipeline->transport_name_ = choice.name;
    if (!choice.spool_dir.empty()) {
      pipeline->spool_ = std::make_unique<Spool>(choice.spool_dir, pipeline->options_.spool_max_bytes);
    }
    if (pipeline->transport_) {
      pipeline->transport_->attach_counters(&pipeline->counters_);
      pipeline->wake_every_ = std::max<std::size_t>(pipeline->options_.batch_size, kDrainChunk);
      pipeline->start();
      register_pipeline(pipeline);
    }
    return pipeline;
  } catch (const std::exception& e) {
    status = Status(ErrorCode::internal, std::string("cannot start the pipeline: ") + e.what());
    log_error(status.message());
    return nullptr;
  } catch (...) {
    status = Status(ErrorCode::internal, "cannot start the pipeline");
    return nullptr;
  }
}

Pipeline::~Pipeline() {
  // Reached only when no worker holds a reference, i.e. the worker has exited or never started.
  if (worker_.joinable()) worker_.detach();
}

void Pipeline::start() noexcept {
  try {
    // The worker must never run the host's async signal handlers: block them all while the
    // thread is created (it inherits the mask), then restore the caller's mask.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    accepting_.store(true);
    auto self = shared_from_this();
    worker_ = std::thread([self] { self->run(); });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    worker_id_ = worker_.get_id();
#ifdef __linux__
    pthread_setname_np(worker_.native_handle(), "prom-worker");
#endif
  } catch (const std::exception& e) {
    accepting_.store(false);
    log_error(std::string("cannot start the worker thread: ") + e.what());
  }
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
  auto fresh = create(options_, status);
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
  std::uint64_t offered = enqueued_.fetch_add(1, std::memory_order_acq_rel) + 1;
  std::uint64_t depth = offered - completed_.load(std::memory_order_relaxed);
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

bool Pipeline::spill(Event&& event) noexcept {
  if (spool_ && options_.overflow_to_spool) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) log_warn("event queue full: spilling events to the spool");
    EncodedEvent encoded = encode(event);
    std::vector<const EncodedEvent*> one{&encoded};
    if (spool_->append(encoded.session_id, one)) {
      overflow_spilled_.fetch_add(1, std::memory_order_relaxed);
      counters_.spooled_events.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    counters_.dropped_io_error.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

EncodedEvent Pipeline::encode(Event& event) noexcept {
  EncodedEvent out;
  encode_into(event, out);
  return out;
}

void Pipeline::encode_into(Event& event, EncodedEvent& out) noexcept {
  try {
    if (event.artifact) store_artifact(*event.artifact);
    out.session_id = event.session->id();
    out.seq = event.seq;
    out.json.clear();
    out.json.reserve(256 + event.approx_bytes / 2);
    write_event(out.json, event);
  } catch (...) {
    log_error("cannot serialise an event");
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
  for (std::size_t k = 0; k < n; ++k) {
    bytes += buffer[k].approx_bytes;
    encode_into(buffer[k], encoded[k]);
  }
  // The events stay in `buffer` until the next dequeue assigns over them (or the worker exits):
  // resetting them here would only add a construction and a destruction per event.
  try {
    transport_->send(encoded, deadline);
  } catch (...) {
    log_error("transport failed to send a batch");
  }
  queue_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  completed_.fetch_add(n, std::memory_order_release);
  notify_flush_waiters();
  return n;
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
                                 : Deadline::none();
    std::size_t drained = 0;
    for (;;) {
      std::size_t n = drain_once(token, buffer, encoded, deadline);
      drained += n;
      if (n < buffer.size()) break;
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
        transport_->idle(Deadline::after(options_.flush_interval));
      } catch (...) {
      }
    }
  }
  try {
    transport_->close(Deadline{Clock::time_point(std::chrono::nanoseconds(stop_deadline_ns_.load()))});
  } catch (...) {
  }
  {
    std::lock_guard<std::mutex> lock(wait_mutex_);
    worker_exited_ = true;
  }
  wait_cv_.notify_all();
}

bool Pipeline::on_worker_thread() const noexcept { return std::this_thread::get_id() == worker_id_; }

bool Pipeline::flush(std::chrono::milliseconds timeout) noexcept {
  try {
    if (fork_generation() != fork_generation_) {
      Pipeline& successor = active();
      return &successor == this || successor.flush(timeout);
    }
    if (!transport_ || shutdown_called_.load()) return true;
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
    if (shutdown_called_.exchange(true)) return true;
    accepting_.store(false);
    if (fork_generation() != fork_generation_) {
      // A forked child must not touch the parent's thread: abandon it (the handle is leaked on
      // purpose so that no std::thread destructor runs on it) and stop the successor, if any.
      {
        std::lock_guard<std::mutex> lock(abandoned().mutex);
        abandoned().threads.push_back(new std::thread(std::move(worker_)));
      }
      auto* successor = successor_.load();
      return successor ? (*successor)->shutdown(timeout) : true;
    }
    unregister_pipeline(this);
    if (!transport_ || !worker_.joinable()) return true;
    if (on_worker_thread()) return false;
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    stop_deadline_ns_.store(to_ns(deadline));
    stop_.store(true, std::memory_order_release);
    wake_.signal();
    // Leave a short grace period at the end to abort a transfer that is still in flight.
    const auto grace = std::min<Clock::duration>(std::chrono::milliseconds(250), timeout / 4);
    std::unique_lock<std::mutex> lock(wait_mutex_);
    bool exited = wait_cv_.wait_until(lock, deadline - grace, [&] { return worker_exited_; });
    if (!exited) {
      lock.unlock();
      transport_->interrupt();
      lock.lock();
      exited = wait_cv_.wait_until(lock, deadline, [&] { return worker_exited_; });
    }
    lock.unlock();
    if (exited) {
      worker_.join();
    } else {
      // The worker holds its own reference to this pipeline, so detaching is safe.
      log_warn("shutdown timed out; the delivery thread is left to finish on its own");
      worker_.detach();
    }
    // Whatever the worker could not take before the deadline goes to the spool from here.
    spill_leftovers();
    return exited && completed_.load() >= enqueued_.load();
  } catch (...) {
    return false;
  }
}

void Pipeline::spill_leftovers() noexcept {
  Event event;
  while (queue_.try_dequeue(event)) {
    queue_bytes_.fetch_sub(event.approx_bytes, std::memory_order_relaxed);
    bool written = false;
    if (spool_) {
      EncodedEvent encoded = encode(event);
      std::vector<const EncodedEvent*> one{&encoded};
      written = spool_->append(encoded.session_id, one);
      if (written) counters_.spooled_events.fetch_add(1, std::memory_order_relaxed);
    }
    if (!written) dropped_shutdown_.fetch_add(1, std::memory_order_relaxed);
    event = Event{};
    completed_.fetch_add(1, std::memory_order_release);
  }
}

Stats Pipeline::stats() const noexcept {
  Stats s;
  try {
    const DeliveryCounters& c = counters_;
    s.enqueued = enqueued_.load();
    s.delivered = c.delivered_events.load();
    s.spooled = c.spooled_events.load();
    s.overflow_spilled = overflow_spilled_.load();
    s.written = s.delivered + s.spooled;
    s.dead_lettered = c.dead_lettered_events.load();
    s.retries = c.retries.load();
    s.dropped_queue_full = dropped_queue_full_.load();
    s.dropped_after_end = dropped_after_end_.load();
    s.dropped_invalid = dropped_invalid_.load();
    s.dropped_io_error = c.dropped_io_error.load();
    s.dropped_shutdown = dropped_shutdown_.load();
    s.dropped_duplicate = c.safe_dropped_events.load();
    std::uint64_t completed = completed_.load();
    s.queue_depth = s.enqueued > completed ? s.enqueued - completed : 0;
    static const char* const states[] = {"closed", "open", "half_open"};
    int state = c.circuit_state.load();
    s.circuit_state = state >= 0 && state <= 2 ? states[state] : "closed";
    s.transport = transport_name_;
  } catch (...) {
  }
  return s;
}

}  // namespace promptetheus::detail
