// Drain throughput of HTTP delivery: 2 producer threads enqueue encoded events, one worker
// drains the queue in bulk and hands each drained batch to HttpTransport::send(), which posts
// them to a counting sink on loopback (an in-process HTTP server that answers
// {"accepted": n} after counting the events). Measures events per second end to end, with
// gzip off and on. Results: docs/performance.md, section "HTTP delivery".
#include <benchmark/benchmark.h>
#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "transport/http_transport.hpp"
// The counting sink is the test suite's fault server in count_only mode; this benchmark is its
// only other user, so it is compiled in here rather than made a library.
#include "../tests/integration/fault_proxy.cpp"

using namespace promptetheus;
using namespace promptetheus::detail;

namespace {

// A typical user_message line in canonical JSON-spool form (~330 bytes).
std::string event_json(const std::string& sid, std::uint64_t seq) {
  return R"({"idempotency_key":")" + sid + ":6d2eb0d7:" + std::to_string(seq) +
         R"(","payload":{"content":"Booked Tuesday 2pm with the calendar tool after checking three slots"},)"
         R"("seq":)" + std::to_string(seq) + R"(,"session_id":")" + sid +
         R"(","span_id":"span_fa2bd21277924fbda754c754a502a2bd","timestamp":"2026-11-21T20:42:43.441511Z","type":"user_message"})";
}

void BM_HttpDrain(benchmark::State& state) {
  const bool gzip = state.range(0) != 0;
  const std::size_t batch_size = static_cast<std::size_t>(state.range(1));
  constexpr std::uint64_t kPerProducer = 100000;

  testing::FaultServer sink(/*count_only=*/true, /*record=*/false);
  char tmpl[] = "/tmp/prom-bench-http-XXXXXX";
  std::string spool_dir = ::mkdtemp(tmpl);
  HttpTransportConfig config;
  config.endpoint = sink.base_url();
  config.spool_dir = spool_dir;
  config.batch_size = batch_size;
  config.compress_min_bytes = gzip ? 1024 : 0;
  HttpTransport transport(config);
  promptetheus::detail::OutcomeTally outcomes;

  std::uint64_t total = 0;
  for (auto _ : state) {
    moodycamel::ConcurrentQueue<EncodedEvent> queue(64 * 1024);
    std::atomic<int> producers_done{0};
    auto produce = [&](int id) {
      const std::string sid = "01M7ZXHNVH2DNQWAR7C5Q4VEF" + std::to_string(id);
      moodycamel::ProducerToken token(queue);
      for (std::uint64_t s = 0; s < kPerProducer; ++s) {
        EncodedEvent e;
        e.session_id = sid;
        e.seq = s;
        e.json = event_json(sid, s);
        e.type = "user_message";
        e.idempotency_key = sid + ":6d2eb0d7:" + std::to_string(s);
        while (!queue.enqueue(token, std::move(e))) std::this_thread::yield();
      }
      producers_done.fetch_add(1);
    };
    const std::uint64_t delivered_before = outcomes.delivered;
    std::thread p1(produce, 1), p2(produce, 2);
    std::vector<EncodedEvent> drained(1024);
    std::vector<EncodedEvent> batch;
    for (;;) {
      std::size_t n = queue.try_dequeue_bulk(drained.begin(), drained.size());
      if (n == 0) {
        if (producers_done.load() == 2 && queue.size_approx() == 0) break;
        std::this_thread::yield();
        continue;
      }
      batch.assign(std::make_move_iterator(drained.begin()),
                   std::make_move_iterator(drained.begin() + static_cast<std::ptrdiff_t>(n)));
      transport.send(batch, Deadline::after(std::chrono::seconds(10)));
      outcomes.add(batch);
    }
    p1.join();
    p2.join();
    total += outcomes.delivered - delivered_before;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.counters["spooled"] = static_cast<double>(outcomes.spooled);
  state.counters["sink_counted"] = static_cast<double>(sink.counted_events());
  std::error_code ec;
  std::filesystem::remove_all(spool_dir, ec);
}

}  // namespace

BENCHMARK(BM_HttpDrain)
    ->ArgNames({"gzip", "batch"})
    ->Args({0, 50})
    ->Args({1, 50})
    ->Args({0, 500})
    ->Args({1, 500})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

BENCHMARK_MAIN();
