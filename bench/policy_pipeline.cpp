// What the privacy and volume policy costs, each figure next to the same work without it, in one
// program so that repetitions can be interleaved (--benchmark_enable_random_interleaving):
//
//   worker_write/<policy>/<event>        the worker's cost to turn one queued event into its line:
//                                        plain (write_event), redact (the default redactor in place,
//                                        then write_event) and redact_via_json (the caller's
//                                        redactor path: write, parse, policy::redact, write)
//   spool_throughput/<policy>/producers:2  events/s from the first enqueue until flush() returns, to
//                                        the spool, zero loss checked in stats() and the files
//   caller/<session>/agent_message       caller cost per helper call on a recorded session and on
//                                        one head sampling left out (a no-op handle), the content
//                                        built before timing and moved in; _short: a content that
//                                        fits std::string's small buffer (no free() in the call)
//
// Events: "prose" is a 300-byte agent_message line with no secret (the common case); "secrets"
// the same size with an e-mail address and a provider key in its content; "tool_call_secrets" a
// tool_call with a password in its arguments. Method and figures: docs/performance.md.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "core/event.hpp"
#include "core/json_writer.hpp"
#include "core/session_state.hpp"
#include "policy/recording_policy.hpp"
#include "promptetheus/promptetheus.hpp"
#include "sdk_bench_support.hpp"

namespace pb = promptetheus_bench;
namespace d = promptetheus::detail;
using nlohmann::json;

namespace {

// 92 characters of prose: its agent_message line is 300 bytes.
const std::string kProse =
    "Found three free slots on Tuesday; booked 10:00 with Ana in room B2 and sent the invite now.";
// The same length, with an e-mail address and a provider key in it.
const std::string kSecretProse =
    "Mailed ana.lopez@example.com the invite; booked with key sk-live0123456789abcdefXYZ at 10:00";
// Short enough for std::string's small buffer: moving it in and destroying it allocate nothing,
// so a no-op call's cost is the SDK's alone.
const std::string kShort = "booked B2";

enum class Policy { plain, redact, redact_via_json };
enum class Kind { prose, secrets, tool_call_secrets };

constexpr int kWarmupBatches = 64;
constexpr int kTimedBatches = 2000;
constexpr std::uint64_t kThroughputEvents = 400000;

promptetheus::Options policy_options(Policy policy) {
  promptetheus::Options o;  // not from_env(): the caller's environment must not change the run
  if (policy == Policy::redact) o.redact = "default";
  if (policy == Policy::redact_via_json) {
    o.redactor = [](json event) { return promptetheus::policy::redact(event); };
  }
  return o;
}

void fill(d::Event& e, Kind kind, const std::shared_ptr<const d::SessionInfo>& session, std::uint64_t seq) {
  e = d::Event{};
  e.session = session;
  e.seq = seq;
  e.time_us = 1715680800123456;
  if (kind == Kind::tool_call_secrets) {
    e.type = d::EventType::tool_call;
    e.payload.add("tool_name", std::string("crm.login"));
    e.payload.add("arguments", json{{"user", "ana"}, {"password", "hunter2-password"}, {"note", kProse.substr(0, 60)}});
    e.payload.add("call_id", std::string("5f0c2d7e9a8b4c6d1e3f5a7b9c0d2e4f"));
  } else {
    e.type = d::EventType::agent_message;
    e.payload.add("content", kind == Kind::prose ? kProse : kSecretProse);
  }
}

void BM_WorkerWrite(benchmark::State& state, Policy policy, Kind kind) {
  auto session = std::make_shared<const d::SessionInfo>("01J0BENCHSESSION0000000000", "1a2b3c4d", "{}");
  std::shared_ptr<const d::EventPolicy> event_policy;
  std::vector<std::string> problems;
  if (!d::make_event_policy(policy_options(policy), event_policy, problems) ||
      (policy != Policy::plain && !event_policy)) {
    state.SkipWithError("cannot make the policy");
    return;
  }
  for (auto _ : state) {
    pb::LatencyRecorder rec;
    rec.reserve(kTimedBatches);
    std::uint64_t stamps[pb::kBatch + 1];
    std::vector<d::Event> events(pb::kBatch);
    std::uint64_t seq = 0;
    std::string out;
    auto t0 = std::chrono::steady_clock::now();
    for (int b = 0; b < kWarmupBatches + kTimedBatches; ++b) {
      for (auto& e : events) fill(e, kind, session, ++seq);  // untimed: events as the worker receives them
      stamps[0] = pb::tsc_now();
      for (int i = 0; i < pb::kBatch; ++i) {
        d::Event& e = events[static_cast<std::size_t>(i)];
        if (event_policy) {
          event_policy->write(e, out);
        } else {
          out.clear();
          d::write_event(out, e);
        }
        benchmark::DoNotOptimize(out.data());
        stamps[i + 1] = pb::tsc_now();
      }
      if (b >= kWarmupBatches) rec.add_batch(stamps);
    }
    auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    pb::report_latency(state, rec);
    state.counters["line_bytes"] = static_cast<double>(out.size());
    if (kind != Kind::prose && policy != Policy::plain && out.find("[REDACTED]") == std::string::npos) {
      state.SkipWithError("the line was not redacted");
    }
  }
}

promptetheus::Options spool_options(Policy policy, const std::string& spool_dir) {
  promptetheus::Options o = policy_options(policy);
  o.transport = promptetheus::TransportMode::spool;
  o.spool_dir = spool_dir;
  o.max_queue_events = 4u << 20;
  o.max_queue_bytes = 4ull << 30;
  o.flush_at_exit = false;
  return o;
}

void BM_SpoolThroughput(benchmark::State& state, Policy policy, int producers) {
  const std::uint64_t per_producer = kThroughputEvents / static_cast<std::uint64_t>(producers);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  for (auto _ : state) {
    pb::ScratchDir dir;
    if (!dir.ok()) {
      state.SkipWithError("cannot create a scratch directory");
      return;
    }
    const std::string spool_dir = dir.path() + "/spool";
    promptetheus::Client client(spool_options(policy, spool_dir));
    pb::StartLine start;
    std::atomic<int> done{0};
    std::atomic<bool> release{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        promptetheus::SessionOptions so;
        so.agent = "bench";
        so.client = &client;
        promptetheus::Session session(so);
        std::vector<std::string> contents(per_producer, kProse);  // built before the clock starts
        start.ready();
        start.wait_for_go();
        for (auto& content : contents) session.agent_message(std::move(content));
        done.fetch_add(1);
        while (!release.load()) std::this_thread::yield();
      });
    }
    start.wait_until_ready(producers);
    client.flush(std::chrono::seconds(10));
    const promptetheus::Stats before = client.stats();
    const std::uint64_t worker_cpu0 = pb::thread_cpu_ns("prom-worker");
    auto t0 = std::chrono::steady_clock::now();
    start.go();
    while (done.load() < producers) std::this_thread::yield();
    const bool flushed = client.flush(std::chrono::seconds(120));
    auto t1 = std::chrono::steady_clock::now();
    const std::uint64_t worker_cpu = pb::thread_cpu_ns("prom-worker") - worker_cpu0;
    const promptetheus::Stats after = client.stats();
    release.store(true);
    for (auto& t : threads) t.join();
    client.shutdown(std::chrono::seconds(10));
    const pb::LineCount lines = pb::count_jsonl_lines(spool_dir);
    const std::uint64_t expected_lines = total + 2 * static_cast<std::uint64_t>(producers);
    const double seconds = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(seconds);
    state.counters["events_per_s"] = static_cast<double>(total) / seconds;
    state.counters["worker_cpu_ns"] = static_cast<double>(worker_cpu) / static_cast<double>(total);
    state.counters["dropped"] = static_cast<double>(after.dropped_total());
    state.counters["spilled_by_caller"] = static_cast<double>(after.overflow_spilled);
    state.counters["flushed"] = flushed ? 1 : 0;
    state.counters["lines_ok"] =
        lines.lines == expected_lines && after.spooled - before.spooled == total ? 1 : 0;
  }
}

void BM_Caller(benchmark::State& state, bool sampled, const std::string* content) {
  for (auto _ : state) {
    pb::ScratchDir dir;
    if (!dir.ok()) {
      state.SkipWithError("cannot create a scratch directory");
      return;
    }
    promptetheus::Options options = spool_options(Policy::plain, dir.path() + "/spool");
    options.sample_rate = sampled ? 1.0 : 0.0;
    promptetheus::Client client(options);
    promptetheus::SessionOptions so;
    so.agent = "bench";
    so.client = &client;
    promptetheus::Session session(so);
    if (session.is_recording() != sampled) {
      state.SkipWithError("head sampling did not decide as configured");
      return;
    }
    pb::LatencyRecorder rec;
    rec.reserve(kTimedBatches);
    std::uint64_t stamps[pb::kBatch + 1];
    std::vector<std::string> contents(pb::kBatch);
    auto t0 = std::chrono::steady_clock::now();
    for (int b = 0; b < kWarmupBatches + kTimedBatches; ++b) {
      for (auto& c : contents) c = *content;  // built before timing, moved in
      stamps[0] = pb::tsc_now();
      for (int i = 0; i < pb::kBatch; ++i) {
        benchmark::DoNotOptimize(session.agent_message(std::move(contents[static_cast<std::size_t>(i)])));
        stamps[i + 1] = pb::tsc_now();
      }
      if (b >= kWarmupBatches) rec.add_batch(stamps);
      if (sampled && client.stats().queue_depth > 8192) client.flush(std::chrono::seconds(10));
    }
    auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    pb::report_latency(state, rec);
    client.shutdown(std::chrono::seconds(10));
    state.counters["sessions_sampled_out"] = static_cast<double>(client.stats().sessions_sampled_out);
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

  const std::pair<Policy, const char*> policies[] = {
      {Policy::plain, "plain"}, {Policy::redact, "redact"}, {Policy::redact_via_json, "redact_via_json"}};
  const std::pair<Kind, const char*> kinds[] = {
      {Kind::prose, "prose"}, {Kind::secrets, "secrets"}, {Kind::tool_call_secrets, "tool_call_secrets"}};
  for (const auto& [policy, policy_name] : policies) {
    for (const auto& [kind, kind_name] : kinds) {
      add(std::string("worker_write/") + policy_name + "/" + kind_name, BM_WorkerWrite, policy, kind);
    }
  }
  add("spool_throughput/plain/producers:2", BM_SpoolThroughput, Policy::plain, 2);
  add("spool_throughput/redact/producers:2", BM_SpoolThroughput, Policy::redact, 2);
  add("caller/recorded/agent_message", BM_Caller, true, &kProse);
  add("caller/head_sampled_out/agent_message", BM_Caller, false, &kProse);
  add("caller/head_sampled_out/agent_message_short", BM_Caller, false, &kShort);

  pb::SummaryReporter reporter({"p50_ns", "p99_ns", "events_per_s", "worker_cpu_ns", "dropped", "spilled_by_caller",
                                "flushed", "lines_ok", "line_bytes", "sessions_sampled_out"},
                               {{"worker_write/redact/", "p50_ns", "<=", 2000},
                                {"spool_throughput/redact", "events_per_s", ">=", 5e5},
                                {"caller/head_sampled_out/agent_message_short", "p50_ns", "<=", 20},
                                {"spool_throughput", "dropped", "<=", 0}});
  const std::string load_before = pb::load_average();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary(stdout, load_before, pb::load_average());
  benchmark::Shutdown();
  return 0;
}
