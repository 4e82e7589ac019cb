// The SDK's hot path and spool drain, with their anchors, in one program so that repetitions of
// every measurement can be interleaved (--benchmark_enable_random_interleaving) and see the
// same machine load.
//
//   sdk_caller/<helper>/producers:<n>  caller-thread cost per call (p50/p99/p99.9), the worker
//                                       draining to the spool transport in a scratch directory
//   sdk_caller_otlp/<helper>/...      the same with the OpenTelemetry destination beside the
//                                       spool (spans built on the worker, outbox on disk)
//   sdk_spool_throughput/producers:2   events/s from the first enqueue until flush() returns,
//                                       with zero loss checked in stats() and in the files
//   anchor_spdlog_async_caller/...     spdlog's async logger (async_factory, file sink) writing a
//   anchor_spdlog_async_throughput/... 500-byte line (and a 250-byte one, the size of the SDK's
//                                      line): caller cost, and lines/s until written
//   anchor_nlohmann_envelope/<helper>  building + dumping the same envelope with nlohmann::json
//                                       on the caller thread
//   sdk_canonical_writer/<helper>      the worker's own serialisation of that envelope
//
// Every benchmark runs exactly one iteration per repetition (a whole workload) and reports its
// figures as counters; run with --benchmark_repetitions=N and read the summary at the end.
// Method and figures: docs/performance.md.
#include <pthread.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "core/event.hpp"
#include "core/json_writer.hpp"
#include "core/session_state.hpp"
#include "promptetheus/promptetheus.hpp"
#include "sdk_bench_support.hpp"

namespace pb = promptetheus_bench;
using nlohmann::json;

namespace {

// 40 bytes: a typical short agent reply.
constexpr const char* kContent = "Booked Tuesday 10:00 with Ana in room B2";
// 15 characters: fits std::string's small buffer, as most tool names do.
constexpr const char* kToolName = "calendar.search";

// agent_message: called with a string literal, as most code does (the std::string parameter is
// built, and its 40 bytes allocated, by the call); agent_message_moved: with a std::string built
// before timing and moved in, which isolates the SDK's own cost from that allocation.
enum class Helper { agent_message, agent_message_moved, tool_call };

json tool_arguments() { return json{{"date", "2024-05-14"}, {"attendees", 3}, {"room", "B2"}}; }

// ---- workload sizes ---------------------------------------------------------------------------
constexpr int kWarmupBatches = 64;                  // per producer, untimed: fills caches and blocks
constexpr int kTimedBatches = 3000;                 // per producer: 192,000 timed calls
constexpr std::uint64_t kPauseAboveDepth = 8192;    // producers pause (untimed) above this depth
constexpr std::uint64_t kThroughputEvents = 600000; // total over all producers; ~140 MB of spool
constexpr std::size_t kSpdlogQueueSlots = 1 << 16;

// The delivery a caller-cost measurement runs with: the spool alone, or the spool with the
// OpenTelemetry destination beside it (spans built on the worker, sent from the exporter's
// thread; the endpoint is a closed local port, so requests wait in the OTLP outbox).
enum class Delivery { spool, spool_and_otlp };

// Options for a measurement: spool transport into `spool_dir`, a queue large enough that no
// event overflows (overflow would mean I/O on the caller thread), defaults otherwise.
promptetheus::Options bench_options(const std::string& spool_dir, Delivery delivery = Delivery::spool) {
  promptetheus::Options o;  // not from_env(): the caller's environment must not change the run
  o.transport = promptetheus::TransportMode::spool;
  o.spool_dir = spool_dir;
  if (delivery == Delivery::spool_and_otlp) o.otlp_endpoint = "http://127.0.0.1:9/v1/traces";
  o.max_queue_events = 4u << 20;
  o.max_queue_bytes = 4ull << 30;
  o.flush_at_exit = false;
  o.log_handler = [](promptetheus::LogLevel level, std::string_view text) {
    if (level >= promptetheus::LogLevel::warn) std::fprintf(stderr, "promptetheus: %.*s\n", int(text.size()), text.data());
  };
  return o;
}

promptetheus::SessionOptions session_options(promptetheus::Client& client) {
  promptetheus::SessionOptions so;
  so.agent = "bench";
  so.user_goal = "measure the hot path";
  so.client = &client;
  return so;
}

// ---- SDK caller cost ----------------------------------------------------------------------------

void sdk_caller_producer(promptetheus::Client& client, Helper helper, pb::StartLine& start, pb::LatencyRecorder& rec,
                         std::uint64_t& pauses) {
  promptetheus::Session session(session_options(client));
  std::uint64_t stamps[pb::kBatch + 1];
  std::vector<json> args(pb::kBatch);
  std::vector<std::string> contents(pb::kBatch);
  rec.reserve(kTimedBatches);
  auto batch = [&](bool timed) {
    // Built before timing, moved in below.
    if (helper == Helper::tool_call) {
      for (auto& a : args) a = tool_arguments();
    } else if (helper == Helper::agent_message_moved) {
      for (auto& c : contents) c = kContent;
    }
    stamps[0] = pb::tsc_now();
    if (helper == Helper::agent_message) {
      for (int i = 0; i < pb::kBatch; ++i) {
        benchmark::DoNotOptimize(session.agent_message(kContent));
        stamps[i + 1] = pb::tsc_now();
      }
    } else if (helper == Helper::agent_message_moved) {
      for (int i = 0; i < pb::kBatch; ++i) {
        benchmark::DoNotOptimize(session.agent_message(std::move(contents[static_cast<std::size_t>(i)])));
        stamps[i + 1] = pb::tsc_now();
      }
    } else {
      for (int i = 0; i < pb::kBatch; ++i) {
        benchmark::DoNotOptimize(session.tool_call(kToolName, std::move(args[i])));
        stamps[i + 1] = pb::tsc_now();
      }
    }
    if (timed) rec.add_batch(stamps);
    // Keep the queue short (untimed): what is measured is the steady state, with the worker
    // keeping up and queue blocks recycled, not the growth of a backlog.
    if (client.stats().queue_depth > kPauseAboveDepth) {
      ++pauses;
      while (client.stats().queue_depth > kPauseAboveDepth / 4) std::this_thread::yield();
    }
  };
  start.ready();
  start.wait_for_go();
  for (int b = 0; b < kWarmupBatches; ++b) batch(false);
  for (int b = 0; b < kTimedBatches; ++b) batch(true);
}

void BM_SdkCaller(benchmark::State& state, Helper helper, int producers, Delivery delivery) {
  for (auto _ : state) {
    pb::ScratchDir dir;
    if (!dir.ok()) {
      state.SkipWithError("cannot create a scratch directory");
      return;
    }
    promptetheus::Client client(bench_options(dir.path() + "/spool", delivery));
    pb::StartLine start;
    std::vector<pb::LatencyRecorder> recs(static_cast<std::size_t>(producers));
    std::vector<std::uint64_t> pauses(static_cast<std::size_t>(producers), 0);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back(sdk_caller_producer, std::ref(client), helper, std::ref(start), std::ref(recs[p]),
                           std::ref(pauses[p]));
    }
    start.wait_until_ready(producers);
    auto t0 = std::chrono::steady_clock::now();
    start.go();
    for (auto& t : threads) t.join();
    auto t1 = std::chrono::steady_clock::now();
    bool flushed = client.flush(std::chrono::seconds(60));
    promptetheus::Stats stats = client.stats();
    client.shutdown(std::chrono::seconds(10));

    pb::LatencyRecorder all;
    for (auto& r : recs) all.merge(r);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    pb::report_latency(state, all);
    std::uint64_t total_pauses = 0;
    for (auto p : pauses) total_pauses += p;
    state.counters["pauses"] = static_cast<double>(total_pauses);
    state.counters["dropped"] = static_cast<double>(stats.dropped_total());
    state.counters["spilled_by_caller"] = static_cast<double>(stats.overflow_spilled);
    state.counters["flushed"] = flushed ? 1 : 0;
  }
}

// ---- SDK sustained drain to the spool -----------------------------------------------------------

void BM_SdkSpoolThroughput(benchmark::State& state, int producers) {
  const std::uint64_t per_producer = kThroughputEvents / static_cast<std::uint64_t>(producers);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  for (auto _ : state) {
    pb::ScratchDir dir;
    if (!dir.ok()) {
      state.SkipWithError("cannot create a scratch directory");
      return;
    }
    const std::string spool_dir = dir.path() + "/spool";
    promptetheus::Client client(bench_options(spool_dir));
    pb::StartLine start;
    std::atomic<int> done{0};
    std::atomic<bool> release{false};
    std::atomic<std::uint64_t> accepted{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        // session_started is recorded (and flushed below) before the clock starts.
        promptetheus::Session session(session_options(client));
        start.ready();
        start.wait_for_go();
        std::uint64_t ok = 0;
        for (std::uint64_t i = 0; i < per_producer; ++i) ok += session.agent_message(kContent) ? 1 : 0;
        accepted.fetch_add(ok);
        done.fetch_add(1);
        // session_end is recorded after the clock stops.
        while (!release.load()) std::this_thread::yield();
      });
    }
    start.wait_until_ready(producers);
    client.flush(std::chrono::seconds(10));
    const promptetheus::Stats before = client.stats();

    const std::uint64_t worker_cpu0 = pb::thread_cpu_ns("prom-worker");
    const std::uint64_t process_cpu0 = pb::process_cpu_ns();
    auto t0 = std::chrono::steady_clock::now();
    start.go();
    while (done.load() < producers) std::this_thread::yield();
    auto t_enqueued = std::chrono::steady_clock::now();
    const bool flushed = client.flush(std::chrono::seconds(120));
    auto t1 = std::chrono::steady_clock::now();
    const std::uint64_t worker_cpu = pb::thread_cpu_ns("prom-worker") - worker_cpu0;
    const std::uint64_t process_cpu = pb::process_cpu_ns() - process_cpu0;
    const promptetheus::Stats after = client.stats();

    release.store(true);
    for (auto& t : threads) t.join();
    client.shutdown(std::chrono::seconds(10));
    const pb::LineCount lines = pb::count_jsonl_lines(spool_dir);
    // Each session file: session_started, its events, session_end.
    const std::uint64_t expected_lines = total + 2 * static_cast<std::uint64_t>(producers);

    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    state.counters["events_per_s"] = static_cast<double>(total) / seconds;
    state.counters["enqueue_per_s"] =
        static_cast<double>(total) / std::chrono::duration<double>(t_enqueued - t0).count();
    state.counters["worker_cpu_ns"] = static_cast<double>(worker_cpu) / static_cast<double>(total);
    state.counters["process_cpu_ns"] = static_cast<double>(process_cpu) / static_cast<double>(total);
    state.counters["events"] = static_cast<double>(total);
    state.counters["accepted"] = static_cast<double>(accepted.load());
    state.counters["spooled"] = static_cast<double>(after.spooled - before.spooled);
    state.counters["dropped"] = static_cast<double>(after.dropped_total());
    state.counters["spilled_by_caller"] = static_cast<double>(after.overflow_spilled);
    state.counters["flushed"] = flushed ? 1 : 0;
    state.counters["lines"] = static_cast<double>(lines.lines);
    state.counters["lines_ok"] = lines.lines == expected_lines ? 1 : 0;
    if (lines.lines != expected_lines || after.spooled - before.spooled != total) {
      std::fprintf(stderr, "sdk_spool_throughput: expected %llu lines and %llu spooled, got %llu lines, %llu spooled\n",
                   static_cast<unsigned long long>(expected_lines), static_cast<unsigned long long>(total),
                   static_cast<unsigned long long>(lines.lines),
                   static_cast<unsigned long long>(after.spooled - before.spooled));
    }
  }
}

// ---- anchor: spdlog async logger ----------------------------------------------------------------

// A log line of `bytes` bytes: 500 (a typical spdlog line) or 250 (the size of the SDK's
// agent_message line, so that the two are also compared on equal work).
std::string log_line(std::size_t bytes) {
  std::string s;
  const char* words = "tool calendar.search returned 3 slots for Ana; room B2 free at 10:00; ";
  while (s.size() < bytes) s += words;
  s.resize(bytes);
  return s;
}

std::shared_ptr<spdlog::logger> make_async_file_logger(const std::string& path) {
  // The pool's thread is named so that its CPU time can be read like the SDK worker's.
  spdlog::init_thread_pool(kSpdlogQueueSlots, 1, [] { pthread_setname_np(pthread_self(), "spdlog-worker"); });
  auto logger = spdlog::basic_logger_mt<spdlog::async_factory>("bench", path, true);
  logger->set_pattern("%v");  // the line as given: its cost is the queue and the write, as ours
  return logger;
}

// Stops the logger and its thread pool; returns after every queued line is written and the file
// closed.
void stop_async_logger(std::shared_ptr<spdlog::logger>& logger) {
  logger.reset();
  spdlog::shutdown();
}

void BM_SpdlogAsyncCaller(benchmark::State& state, std::size_t line_bytes, int producers) {
  for (auto _ : state) {
    pb::ScratchDir dir;
    const std::string path = dir.path() + "/bench.log";
    auto logger = make_async_file_logger(path);
    pb::StartLine start;
    std::vector<pb::LatencyRecorder> recs(static_cast<std::size_t>(producers));
    std::vector<std::thread> threads;
    std::atomic<std::uint64_t> pauses{0};
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        std::uint64_t stamps[pb::kBatch + 1];
        auto& rec = recs[static_cast<std::size_t>(p)];
        rec.reserve(kTimedBatches);
        const std::string line = log_line(line_bytes);
        auto batch = [&](bool timed) {
          stamps[0] = pb::tsc_now();
          for (int i = 0; i < pb::kBatch; ++i) {
            logger->info(line);
            stamps[i + 1] = pb::tsc_now();
          }
          if (timed) rec.add_batch(stamps);
          if (spdlog::thread_pool()->queue_size() > kSpdlogQueueSlots / 4) {
            pauses.fetch_add(1);
            while (spdlog::thread_pool()->queue_size() > kSpdlogQueueSlots / 16) std::this_thread::yield();
          }
        };
        start.ready();
        start.wait_for_go();
        for (int b = 0; b < kWarmupBatches; ++b) batch(false);
        for (int b = 0; b < kTimedBatches; ++b) batch(true);
      });
    }
    start.wait_until_ready(producers);
    auto t0 = std::chrono::steady_clock::now();
    start.go();
    for (auto& t : threads) t.join();
    auto t1 = std::chrono::steady_clock::now();
    const std::size_t overruns = spdlog::thread_pool()->overrun_counter();
    stop_async_logger(logger);
    const std::uint64_t expected =
        static_cast<std::uint64_t>(producers) * (kWarmupBatches + kTimedBatches) * pb::kBatch;

    pb::LatencyRecorder all;
    for (auto& r : recs) all.merge(r);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    pb::report_latency(state, all);
    state.counters["pauses"] = static_cast<double>(pauses.load());
    state.counters["dropped"] = static_cast<double>(overruns);
    state.counters["lines_ok"] = pb::count_file_lines(path) == expected ? 1 : 0;
  }
}

void BM_SpdlogAsyncThroughput(benchmark::State& state, std::size_t line_bytes, int producers) {
  const std::uint64_t per_producer = kThroughputEvents / static_cast<std::uint64_t>(producers);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  for (auto _ : state) {
    pb::ScratchDir dir;
    const std::string path = dir.path() + "/bench.log";
    auto logger = make_async_file_logger(path);
    pb::StartLine start;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        const std::string line = log_line(line_bytes);
        start.ready();
        start.wait_for_go();
        for (std::uint64_t i = 0; i < per_producer; ++i) logger->info(line);
      });
    }
    start.wait_until_ready(producers);
    const std::uint64_t process_cpu0 = pb::process_cpu_ns();
    auto t0 = std::chrono::steady_clock::now();
    start.go();
    for (auto& t : threads) t.join();
    const std::size_t overruns = spdlog::thread_pool()->overrun_counter();
    while (spdlog::thread_pool()->queue_size() > 0) std::this_thread::yield();
    const std::uint64_t worker_cpu = pb::thread_cpu_ns("spdlog-worker");  // a new pool: all of it is this run
    stop_async_logger(logger);  // returns once every line is in the file
    auto t1 = std::chrono::steady_clock::now();
    const std::uint64_t process_cpu = pb::process_cpu_ns() - process_cpu0;
    const std::uint64_t lines = pb::count_file_lines(path);

    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    state.counters["lines_per_s"] = static_cast<double>(total) / seconds;
    state.counters["worker_cpu_ns"] = static_cast<double>(worker_cpu) / static_cast<double>(total);
    state.counters["process_cpu_ns"] = static_cast<double>(process_cpu) / static_cast<double>(total);
    state.counters["dropped"] = static_cast<double>(overruns);
    state.counters["lines"] = static_cast<double>(lines);
    state.counters["lines_ok"] = lines == total ? 1 : 0;
  }
}

// ---- anchor: the envelope built and dumped with nlohmann on the caller thread ------------------

const char* kSessionId = "01HZX3Q8J5W9V2K7M4N6P8R0ST";
const char* kKeyPrefix = "01HZX3Q8J5W9V2K7M4N6P8R0ST:1a2b3c4d:";
const char* kTimestamp = "2024-05-14T10:00:00.123456Z";

std::string nlohmann_envelope(Helper helper, std::uint64_t seq, json&& args) {
  json payload;
  if (helper != Helper::tool_call) {
    payload = json{{"content", kContent}};
  } else {
    payload = json{{"arguments", std::move(args)}, {"call_id", "5f0c2d7e9a8b4c6d1e3f5a7b9c0d2e4f"}, {"tool_name", kToolName}};
  }
  json envelope = {{"idempotency_key", kKeyPrefix + std::to_string(seq)},
                   {"payload", std::move(payload)},
                   {"seq", seq},
                   {"session_id", kSessionId},
                   {"timestamp", kTimestamp},
                   {"type", helper == Helper::tool_call ? "tool_call" : "agent_message"}};
  // Keys are sorted by nlohmann's std::map; ensure_ascii gives the spool's \uXXXX escapes.
  return envelope.dump(-1, ' ', true);
}

void BM_NlohmannEnvelope(benchmark::State& state, Helper helper) {
  for (auto _ : state) {
    pb::LatencyRecorder rec;
    rec.reserve(kTimedBatches);
    std::uint64_t stamps[pb::kBatch + 1];
    std::vector<json> args(pb::kBatch);
    std::uint64_t seq = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int b = 0; b < kWarmupBatches + kTimedBatches; ++b) {
      if (helper == Helper::tool_call) {
        for (auto& a : args) a = tool_arguments();
      }
      stamps[0] = pb::tsc_now();
      for (int i = 0; i < pb::kBatch; ++i) {
        std::string line = nlohmann_envelope(helper, ++seq, std::move(args[i]));
        benchmark::DoNotOptimize(line.data());
        stamps[i + 1] = pb::tsc_now();
      }
      if (b >= kWarmupBatches) rec.add_batch(stamps);
    }
    auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    pb::report_latency(state, rec);
  }
}

// ---- the SDK's canonical writer on the same envelope (worker-side cost) ------------------------

void BM_CanonicalWriter(benchmark::State& state, Helper helper) {
  namespace d = promptetheus::detail;
  auto session = std::make_shared<const d::SessionInfo>(kSessionId, "1a2b3c4d", "{}");
  for (auto _ : state) {
    pb::LatencyRecorder rec;
    rec.reserve(kTimedBatches);
    std::uint64_t stamps[pb::kBatch + 1];
    std::vector<d::Event> events(pb::kBatch);
    std::uint64_t seq = 0;
    std::string out;
    auto t0 = std::chrono::steady_clock::now();
    for (int b = 0; b < kWarmupBatches + kTimedBatches; ++b) {
      for (auto& e : events) {  // untimed: events as the worker receives them
        e = d::Event{};
        e.session = session;
        e.seq = ++seq;
        e.time_us = 1715680800123456;
        if (helper != Helper::tool_call) {
          e.type = d::EventType::agent_message;
          e.payload.add("content", std::string(kContent));
        } else {
          e.type = d::EventType::tool_call;
          e.payload.add("tool_name", std::string(kToolName));
          e.payload.add("arguments", tool_arguments());
          e.payload.add("call_id", std::string("5f0c2d7e9a8b4c6d1e3f5a7b9c0d2e4f"));
        }
      }
      stamps[0] = pb::tsc_now();
      for (int i = 0; i < pb::kBatch; ++i) {
        out.clear();
        d::write_event(out, events[static_cast<std::size_t>(i)]);
        benchmark::DoNotOptimize(out.data());
        stamps[i + 1] = pb::tsc_now();
      }
      if (b >= kWarmupBatches) rec.add_batch(stamps);
    }
    auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    pb::report_latency(state, rec);
    state.counters["line_bytes"] = static_cast<double>(out.size());
  }
}

template <class... Args>
void add(const std::string& name, void (*fn)(benchmark::State&, Args...), Args... args) {
  benchmark::RegisterBenchmark(name.c_str(), fn, args...)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const pb::TscCalibration& cal = pb::tsc();
  std::printf("TSC: %.4f ticks/ns, one read costs %.0f ticks (%.1f ns), subtracted from every sample\n",
              cal.ticks_per_ns, cal.read_overhead_ticks, cal.read_overhead_ticks / cal.ticks_per_ns);

  for (int producers : {1, 2}) {
    const std::string suffix = "/producers:" + std::to_string(producers);
    add("sdk_caller/agent_message" + suffix, BM_SdkCaller, Helper::agent_message, producers, Delivery::spool);
    add("sdk_caller/agent_message_moved" + suffix, BM_SdkCaller, Helper::agent_message_moved, producers, Delivery::spool);
    add("sdk_caller/tool_call" + suffix, BM_SdkCaller, Helper::tool_call, producers, Delivery::spool);
    // The same calls with the OpenTelemetry destination beside the spool: the export's cost on
    // the caller, to compare with the lines above in the same run.
    add("sdk_caller_otlp/agent_message" + suffix, BM_SdkCaller, Helper::agent_message, producers, Delivery::spool_and_otlp);
    add("sdk_caller_otlp/tool_call" + suffix, BM_SdkCaller, Helper::tool_call, producers, Delivery::spool_and_otlp);
    for (std::size_t bytes : {500, 250}) {
      add("anchor_spdlog_async_caller/" + std::to_string(bytes) + "B" + suffix, BM_SpdlogAsyncCaller, bytes, producers);
    }
  }
  add("sdk_spool_throughput/producers:2", BM_SdkSpoolThroughput, 2);
  for (std::size_t bytes : {500, 250}) {
    add("anchor_spdlog_async_throughput/" + std::to_string(bytes) + "B/producers:2", BM_SpdlogAsyncThroughput, bytes, 2);
  }
  add("anchor_nlohmann_envelope/agent_message", BM_NlohmannEnvelope, Helper::agent_message);
  add("anchor_nlohmann_envelope/tool_call", BM_NlohmannEnvelope, Helper::tool_call);
  add("sdk_canonical_writer/agent_message", BM_CanonicalWriter, Helper::agent_message);
  add("sdk_canonical_writer/tool_call", BM_CanonicalWriter, Helper::tool_call);

  pb::SummaryReporter reporter(
      {"p50_ns", "p99_ns", "p999_ns", "batch_p50_ns", "events_per_s", "lines_per_s", "enqueue_per_s",
       "worker_cpu_ns", "process_cpu_ns", "dropped",
       "spilled_by_caller", "flushed", "lines_ok", "line_bytes"},
      {{"sdk_caller/agent_message", "p50_ns", "<=", 150},
       {"sdk_caller/agent_message", "p99_ns", "<=", 1000},
       {"sdk_caller/tool_call", "p50_ns", "<=", 250},
       {"sdk_spool_throughput", "events_per_s", ">=", 2e6},
       {"sdk_", "dropped", "<=", 0},
       {"sdk_", "spilled_by_caller", "<=", 0}});
  const std::string load_before = pb::load_average();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary(stdout, load_before, pb::load_average());
  benchmark::Shutdown();
  return 0;
}
