// HTTP delivery end to end through the SDK: producer threads record events with the public
// helpers of their own Session under a Client whose transport is HTTP; its worker thread
// (`prom-worker`) serialises them, groups them by session, builds `{"events":[...]}` bodies of
// batch_size (50) events, gzips them or not, and POSTs them with libcurl to a counting sink on
// loopback. Unlike bench/http_drain.cpp, which feeds HttpTransport::send() from a queue of its
// own with pre-encoded lines, everything between the helper call and the socket is the SDK's.
//
//   http_pipeline/gzip:off/producers:<n>   compress_min_bytes = 0 (bodies are never gzipped)
//   http_pipeline/gzip:on/producers:<n>    compress_min_bytes at its default (1024): every
//                                          body of 50 events is gzipped (level 1)
//   anchor_spool_pipeline/producers:<n>    the same workload with transport = spool, for
//                                          HTTP vs spool in the same run
//   http_burst/..., anchor_spool_burst/... the same without the producers' window (below)
//
// Each producer opens its own Session (its session_started is delivered, and its trace created,
// before the clock starts), then calls agent_message() with a 40-byte string kPerProducer times.
// The clock runs from releasing the producers until flush() returns.
//
// The window. The worker delivers in passes: a pass drains the queue, 1024 events at a time,
// until a dequeue comes back short, and everything it cannot deliver within its budget (400 ms
// from the start of the pass) goes to the spool, to be replayed later (docs/delivery.md). A
// burst that outruns delivery keeps the queue full, so its pass never ends and, after 400 ms,
// the rest of the burst is spooled, not sent (the request in flight at that moment is cut short
// by the pass's deadline: a timeout, logged as a failed delivery, that closes the connection and
// starts a backoff). Measured that way, "delivered" falls short of the events recorded and the
// figure is a mix of HTTP and spool writes (the http_burst variants report it as delivered_pct).
// To measure sustained HTTP delivery, the producers of http_pipeline and anchor_spool_pipeline
// hold back: every 256 events each looks at stats().queue_depth, and above kWindow waiting
// events it sleeps (not spins: the cores are shared with the worker) in 200 us steps until
// fewer than kResume wait, so the queue empties and every pass ends well within its budget.
// Those pauses are inside the timed interval: the rate is the rate at which the SDK delivers,
// not the rate at which the producers record.
//
// Per repetition:
//   events_per_s           events / (release .. flush returned)
//   enqueue_per_s          events / (release .. the last producer finished recording)
//   worker_cpu_ns          CPU time of the `prom-worker` thread per event (its per-thread clock)
//   worker_sys_pct         of which in the kernel (utime/stime of /proc, 10 ms ticks)
//   worker_switches_per_1k context switches of the worker per 1000 events
//   process_cpu_ns         CPU time of the whole process per event (producers, worker and sink)
//   producer_cpu_ns        CPU time of the producer threads per event
//   sink_cpu_ns            CPU time of the sink's connection thread(s) per event (window only)
//   wire_bytes_per_event   bytes of the HTTP requests (request line, headers and body as sent,
//                          i.e. gzipped when gzip is on) per event the sink counted; responses
//                          are not counted
//   body_bytes_per_event   of which body
//   events_per_request     events the sink counted / event POSTs
//   pauses                 times a producer held back (window)
//   delivered_pct          (http_burst) events delivered by HTTP, the rest spooled
//   spool_bytes_per_event  (spool anchors) bytes of the spool files per line
// and it fails the repetition (SkipWithError) unless: flush() returned true, every helper call
// returned true, stats().dropped_total() == 0, overflow_spilled == 0, and
//   http_pipeline:  `delivered` grew by exactly the number of events recorded and the sink
//                   counted exactly as many;
//   http_burst:     `delivered` + `spooled` grew by exactly that number, and the sink counted
//                   at least the delivered ones (it also sees spool replays);
//   spool anchors:  `spooled` grew by exactly that number and the spool files hold every line.
//
// The counting sink is the test suite's fault server (tests/integration/fault_proxy.cpp) in
// count_only mode, as in bench/http_drain.cpp: it creates traces (POST /api/traces -> 201) and
// answers POST /api/traces/{id}/events with {"accepted": n} after counting the events of the
// body (gunzipping it first when it is gzipped). It runs in this process, one thread per
// connection: on a 2-core machine that thread competes for the cores with the worker and the
// producers, so the wall-clock rates are those of the whole system (SDK + sink) sharing two
// cores; worker_cpu_ns is the SDK's delivery cost independent of that.
//
// Run with --benchmark_repetitions=N (bench/run.sh does); the summary at the end gives the
// median and range of every figure next to the targets. Method and figures:
// docs/performance.md, section "HTTP delivery through the SDK".
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "promptetheus/promptetheus.hpp"
#include "sdk_bench_support.hpp"
// The counting sink; compiled in here as bench/http_drain.cpp does (it is not a library).
#include "../tests/integration/fault_proxy.cpp"

namespace pb = promptetheus_bench;
namespace pt = promptetheus::testing;

namespace {

// 40 bytes: a typical short agent reply (the same as bench/sdk_pipeline.cpp).
constexpr const char* kContent = "Booked Tuesday 10:00 with Ana in room B2";
constexpr std::uint64_t kPerProducer = 300000;
// The producers' window (see the top of the file): hold back above kWindow waiting events
// until fewer than kResume wait. kResume is below one drain chunk (1024), so that the worker's
// dequeue comes back short and its pass ends.
constexpr std::uint64_t kWindow = 8192;
constexpr std::uint64_t kResume = 512;
constexpr std::uint64_t kCheckEvery = 256;

enum class Mode { http_plain, http_gzip, spool };

// What crosses the loopback socket towards the sink, counted by the sink's fault hook (which sees
// every request and answers none of them itself). The hook also names the sink's connection
// threads, so that their CPU time can be read like the worker's.
struct WireMeter {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> event_posts{0};
  std::atomic<std::uint64_t> head_bytes{0};
  std::atomic<std::uint64_t> body_bytes{0};

  void count(const pt::RecordedRequest& r) {
    thread_local bool named = false;
    if (!named) {
      pthread_setname_np(pthread_self(), "bench-sink");
      named = true;
    }
    // "POST <target> HTTP/1.1\r\n", "<name>: <value>\r\n" per header, "\r\n" (the sink keeps
    // names and values; curl writes one space after the colon).
    std::uint64_t head = r.method.size() + 1 + r.target.size() + 11 + 2;
    for (const auto& [name, value] : r.headers) head += name.size() + 2 + value.size() + 2;
    requests.fetch_add(1, std::memory_order_relaxed);
    if (r.target.size() > 7 && r.target.compare(r.target.size() - 7, 7, "/events") == 0) {
      event_posts.fetch_add(1, std::memory_order_relaxed);
    }
    head_bytes.fetch_add(head, std::memory_order_relaxed);
    body_bytes.fetch_add(r.raw_body.size(), std::memory_order_relaxed);
  }
};

struct WireSnapshot {
  std::uint64_t requests, event_posts, head_bytes, body_bytes, counted;
};

WireSnapshot snapshot(const WireMeter& m, const pt::FaultServer* sink) {
  return {m.requests.load(), m.event_posts.load(), m.head_bytes.load(), m.body_bytes.load(),
          sink ? sink->counted_events() : 0};
}

// Options: the chosen transport, a scratch spool directory, a queue large enough that no event
// overflows (a burst faster than delivery must queue, not spill on the caller thread), defaults
// otherwise (batch_size 50, flush_interval 200 ms, gzip level 1).
promptetheus::Options bench_options(Mode mode, const std::string& spool_dir, const std::string& api_url) {
  promptetheus::Options o;  // not from_env(): the caller's environment must not change the run
  o.transport = mode == Mode::spool ? promptetheus::TransportMode::spool : promptetheus::TransportMode::http;
  o.api_url = api_url;
  o.api_key = "bench-key";  // transport = http requires one; the sink ignores it
  o.spool_dir = spool_dir;
  o.compress_min_bytes = mode == Mode::http_plain ? 0 : promptetheus::Options{}.compress_min_bytes;
  o.max_queue_events = 4u << 20;
  o.max_queue_bytes = 4ull << 30;
  o.flush_at_exit = false;
  o.log_handler = [](promptetheus::LogLevel level, std::string_view text) {
    if (level >= promptetheus::LogLevel::warn) {
      std::fprintf(stderr, "promptetheus: %.*s\n", int(text.size()), text.data());
    }
  };
  return o;
}

promptetheus::SessionOptions session_options(promptetheus::Client& client) {
  promptetheus::SessionOptions so;
  so.agent = "bench";
  so.user_goal = "measure HTTP delivery";
  so.client = &client;
  return so;
}

// Producers report that they finished recording, then wait (blocked, not spinning: they must
// not take CPU from the worker while it drains) until the clock has stopped, so that their
// session_end is recorded outside the measurement.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  bool release = false;
};

// User and system CPU ticks (1/CLK_TCK s) and context switches (voluntary + involuntary) of
// this process's threads named `name`, from /proc: the per-thread CPU clock gives the total, this
// says how much of it the kernel took (sockets, polls, wake-ups), which a user-space profile does
// not show.
struct ThreadTicks {
  std::uint64_t user = 0, system = 0, switches = 0;
};
ThreadTicks thread_ticks(const std::string& name) {
  ThreadTicks t;
  pb::for_each_thread_named(name, [&t](const std::filesystem::path& task) {
    std::ifstream stat(task / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return;
    // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) t.user += std::strtoull(field.c_str(), nullptr, 10);
      if (i == 15) t.system += std::strtoull(field.c_str(), nullptr, 10);
    }
    std::ifstream status(task / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
        t.switches += std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
      }
    }
  });
  return t;
}

std::uint64_t spool_bytes(const std::string& dir) {
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") bytes += entry.file_size(ec);
  }
  return bytes;
}

void BM_Pipeline(benchmark::State& state, Mode mode, bool window, int producers) {
  const std::uint64_t total = kPerProducer * static_cast<std::uint64_t>(producers);
  const bool http = mode != Mode::spool;
  for (auto _ : state) {
    pb::ScratchDir dir;
    if (!dir.ok()) {
      state.SkipWithError("cannot create a scratch directory");
      break;
    }
    const std::string spool_dir = dir.path() + "/spool";
    WireMeter meter;
    std::unique_ptr<pt::FaultServer> sink;
    if (http) {
      sink = std::make_unique<pt::FaultServer>(/*count_only=*/true, /*record=*/false);
      sink->set_fault([&meter](const pt::RecordedRequest& r) -> std::optional<pt::Fault> {
        meter.count(r);
        return std::nullopt;
      });
    }
    // Declared after the sink: shut down (its session_end delivered) before the sink stops.
    promptetheus::Client client(bench_options(mode, spool_dir, sink ? sink->base_url() : std::string()));
    const std::string expected_transport = http ? "http" : "spool";
    if (!client.status().ok() || client.stats().transport != expected_transport) {
      std::fprintf(stderr, "http_pipeline: transport %s (%s)\n", client.stats().transport.c_str(),
                   client.status().message().c_str());
      state.SkipWithError("the client did not start with the intended transport");
      break;
    }

    pb::StartLine start;
    Gate gate;
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> pauses{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        pthread_setname_np(pthread_self(), "bench-producer");
        promptetheus::Session session(session_options(client));
        start.ready();
        start.wait_for_go();
        std::uint64_t ok = 0;
        for (std::uint64_t i = 0; i < kPerProducer; ++i) {
          ok += session.agent_message(kContent) ? 1 : 0;
          if (window && i % kCheckEvery == kCheckEvery - 1 && client.stats().queue_depth > kWindow) {
            pauses.fetch_add(1, std::memory_order_relaxed);
            while (client.stats().queue_depth >= kResume) {
              std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
          }
        }
        accepted.fetch_add(ok);
        std::unique_lock<std::mutex> lock(gate.mu);
        ++gate.done;
        gate.cv.notify_all();
        gate.cv.wait(lock, [&] { return gate.release; });
      });
    }
    start.wait_until_ready(producers);
    // session_started of every producer delivered (trace created, connection open) before timing.
    client.flush(std::chrono::seconds(10));
    const promptetheus::Stats before = client.stats();
    const WireSnapshot wire0 = snapshot(meter, sink.get());

    const ThreadTicks worker_ticks0 = thread_ticks("prom-worker");
    const std::uint64_t worker_cpu0 = pb::thread_cpu_ns("prom-worker");
    const std::uint64_t producer_cpu0 = pb::thread_cpu_ns("bench-producer");
    const std::uint64_t sink_cpu0 = pb::thread_cpu_ns("bench-sink");
    const std::uint64_t process_cpu0 = pb::process_cpu_ns();
    const auto t0 = std::chrono::steady_clock::now();
    start.go();
    {
      std::unique_lock<std::mutex> lock(gate.mu);
      gate.cv.wait(lock, [&] { return gate.done == producers; });
    }
    const auto t_enqueued = std::chrono::steady_clock::now();
    const bool flushed = client.flush(std::chrono::seconds(120));
    const auto t1 = std::chrono::steady_clock::now();
    const std::uint64_t process_cpu = pb::process_cpu_ns() - process_cpu0;
    const std::uint64_t worker_cpu = pb::thread_cpu_ns("prom-worker") - worker_cpu0;
    const ThreadTicks worker_ticks1 = thread_ticks("prom-worker");
    const std::uint64_t producer_cpu = pb::thread_cpu_ns("bench-producer") - producer_cpu0;
    // A sink thread that ended during the run would take its CPU time with it: clamp at 0.
    const std::uint64_t sink_cpu_now = pb::thread_cpu_ns("bench-sink");
    const std::uint64_t sink_cpu = sink_cpu_now > sink_cpu0 ? sink_cpu_now - sink_cpu0 : 0;
    const promptetheus::Stats after = client.stats();
    const WireSnapshot wire1 = snapshot(meter, sink.get());

    {
      std::lock_guard<std::mutex> lock(gate.mu);
      gate.release = true;
    }
    gate.cv.notify_all();
    for (auto& t : threads) t.join();
    client.shutdown(std::chrono::seconds(10));

    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    const double n = static_cast<double>(total);
    state.SetIterationTime(seconds);
    state.counters["events_per_s"] = n / seconds;
    state.counters["enqueue_per_s"] = n / std::chrono::duration<double>(t_enqueued - t0).count();
    state.counters["worker_cpu_ns"] = static_cast<double>(worker_cpu) / n;
    state.counters["process_cpu_ns"] = static_cast<double>(process_cpu) / n;
    state.counters["producer_cpu_ns"] = static_cast<double>(producer_cpu) / n;
    const double worker_user = static_cast<double>(worker_ticks1.user - worker_ticks0.user);
    const double worker_system = static_cast<double>(worker_ticks1.system - worker_ticks0.system);
    state.counters["worker_sys_pct"] =
        worker_user + worker_system > 0 ? 100.0 * worker_system / (worker_user + worker_system) : 0;
    state.counters["worker_switches_per_1k"] =
        1000.0 * static_cast<double>(worker_ticks1.switches - worker_ticks0.switches) / n;
    state.counters["events"] = n;
    state.counters["dropped"] = static_cast<double>(after.dropped_total());
    state.counters["spilled_by_caller"] = static_cast<double>(after.overflow_spilled);
    state.counters["flushed"] = flushed ? 1 : 0;
    state.counters["pauses"] = static_cast<double>(pauses.load());

    std::string problem;
    auto check = [&](bool ok, const std::string& what) {
      if (!ok && problem.empty()) problem = what;
    };
    check(flushed, "flush() timed out");
    check(accepted.load() == total, "a helper call returned false");
    check(after.dropped_total() == 0, "events were dropped");
    check(after.overflow_spilled == 0, "events overflowed the queue and were spilled by a caller");
    if (http) {
      const std::uint64_t delivered = after.delivered - before.delivered;
      const std::uint64_t counted = wire1.counted - wire0.counted;
      const std::uint64_t posts = wire1.event_posts - wire0.event_posts;
      const std::uint64_t body = wire1.body_bytes - wire0.body_bytes;
      const std::uint64_t head = wire1.head_bytes - wire0.head_bytes;
      // Only with the window: a burst's pass ends with its request in flight timed out, which
      // closes the connection and ends the sink thread that had counted the CPU time.
      if (window) state.counters["sink_cpu_ns"] = static_cast<double>(sink_cpu) / n;
      state.counters["delivered"] = static_cast<double>(delivered);
      state.counters["sink_counted"] = static_cast<double>(counted);
      const std::uint64_t spooled = after.spooled - before.spooled;
      state.counters["spooled"] = static_cast<double>(spooled);
      // Per event that reached the sink (all of them, unless a burst spooled some).
      const double sent = counted ? static_cast<double>(counted) : 1.0;
      state.counters["wire_bytes_per_event"] = static_cast<double>(head + body) / sent;
      state.counters["body_bytes_per_event"] = static_cast<double>(body) / sent;
      state.counters["events_per_request"] = posts ? static_cast<double>(counted) / static_cast<double>(posts) : 0;
      if (window) {
        check(delivered == total, "the delivered counter did not grow by the events recorded");
        check(counted == total, "the sink did not count the events recorded");
      } else {
        state.counters["delivered_pct"] = 100.0 * static_cast<double>(delivered) / n;
        check(delivered + spooled == total, "delivered + spooled did not grow by the events recorded");
        check(counted >= delivered, "the sink counted fewer events than were delivered");
      }
      if (!problem.empty()) {
        std::fprintf(stderr,
                     "http_pipeline: %llu events recorded, %llu delivered, %llu counted by the sink, %llu spooled\n",
                     static_cast<unsigned long long>(total), static_cast<unsigned long long>(delivered),
                     static_cast<unsigned long long>(counted), static_cast<unsigned long long>(spooled));
      }
    } else {
      const std::uint64_t spooled = after.spooled - before.spooled;
      const pb::LineCount lines = pb::count_jsonl_lines(spool_dir);
      // Each session file: session_started, its events, session_end.
      const std::uint64_t expected_lines = total + 2 * static_cast<std::uint64_t>(producers);
      state.counters["spooled"] = static_cast<double>(spooled);
      state.counters["spool_bytes_per_event"] =
          lines.lines ? static_cast<double>(spool_bytes(spool_dir)) / static_cast<double>(lines.lines) : 0;
      check(spooled == total, "the spooled counter did not grow by the events recorded");
      check(lines.lines == expected_lines, "the spool files do not hold every line");
    }
    if (!problem.empty()) {
      std::fprintf(stderr, "http_pipeline: %s\n", problem.c_str());
      state.SkipWithError(problem.c_str());
      break;
    }
  }
}

void add(const std::string& name, Mode mode, bool window, int producers) {
  benchmark::RegisterBenchmark(name.c_str(), BM_Pipeline, mode, window, producers)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  for (int producers : {1, 2}) {
    const std::string suffix = "/producers:" + std::to_string(producers);
    add("http_pipeline/gzip:off" + suffix, Mode::http_plain, true, producers);
    add("http_pipeline/gzip:on" + suffix, Mode::http_gzip, true, producers);
    add("anchor_spool_pipeline" + suffix, Mode::spool, true, producers);
    add("http_burst/gzip:off" + suffix, Mode::http_plain, false, producers);
    add("http_burst/gzip:on" + suffix, Mode::http_gzip, false, producers);
    add("anchor_spool_burst" + suffix, Mode::spool, false, producers);
  }

  pb::SummaryReporter reporter(
      {"events_per_s", "enqueue_per_s", "worker_cpu_ns", "worker_sys_pct", "worker_switches_per_1k", "process_cpu_ns",
       "producer_cpu_ns", "sink_cpu_ns",
       "wire_bytes_per_event", "body_bytes_per_event", "events_per_request", "spool_bytes_per_event", "pauses",
       "delivered_pct", "dropped", "spilled_by_caller"},
      {{"http_pipeline/gzip:off", "events_per_s", ">=", 1e6},
       {"http_pipeline/gzip:on", "events_per_s", ">=", 5e5},
       {"http_", "dropped", "<=", 0},
       {"http_", "spilled_by_caller", "<=", 0}});
  const std::string load_before = pb::load_average();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary(stdout, load_before, pb::load_average());
  benchmark::Shutdown();
  return 0;
}
