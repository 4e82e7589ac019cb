// Many threads recording into one session on the spool transport: every event lands exactly once,
// with seq numbers 0..N-1 and no gaps or duplicates, and every line is a valid envelope.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/event_validation.hpp"
#include "promptetheus/session.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;

TEST_CASE("8 threads x 20000 events into one session: nothing lost, seqs exactly 0..N-1", "[sdk][concurrency]") {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  constexpr std::uint64_t kTotal = kThreads * kPerThread + 2;  // + session_started and session_end

  sdk_test::TempDir dir;
  Client client(sdk_test::spool_options(dir));
  std::atomic<int> refused{0};
  std::string id;
  {
    SessionOptions so;
    so.client = &client;
    so.agent = "load";
    so.user_goal = "record concurrently";
    Session s(so);
    id = s.id();
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < kPerThread; ++i) {
          if (!s.metric("thread_" + std::to_string(t), i)) refused.fetch_add(1);
        }
      });
    }
    go.store(true);
    for (auto& th : threads) th.join();
  }
  CHECK(refused.load() == 0);
  REQUIRE(client.flush(std::chrono::seconds(60)));

  Stats st = client.stats();
  CHECK(st.enqueued == kTotal);
  CHECK(st.written == kTotal);
  CHECK(st.dropped_total() == 0);
  CHECK(st.queue_depth == 0);
  CHECK(sdk_test::accounted(st));

  auto lines = sdk_test::read_lines(dir.path / "spool" / (id + ".jsonl"));
  REQUIRE(lines.size() == kTotal);
  std::vector<char> seen(kTotal, 0);
  std::vector<int> per_thread_next(kThreads, 0);
  std::size_t invalid = 0, duplicates = 0, out_of_range = 0, thread_order_broken = 0;
  std::vector<std::pair<std::uint64_t, std::pair<int, int>>> by_seq;  // seq -> (thread, i)
  by_seq.reserve(kTotal);
  for (const auto& line : lines) {
    json e = json::parse(line);
    if (promptetheus::detail::validate_event(e)) ++invalid;
    std::uint64_t seq = e.at("seq").get<std::uint64_t>();
    if (seq >= kTotal) {
      ++out_of_range;
      continue;
    }
    if (seen[seq]++) ++duplicates;
    if (e.at("type") == "metric") {
      std::string name = e.at("payload").at("name");
      int thread = std::stoi(name.substr(7));
      int i = static_cast<int>(e.at("payload").at("value").get<double>());
      by_seq.push_back({seq, {thread, i}});
    } else if (e.at("type") == "session_end") {
      CHECK(seq == kTotal - 1);
    } else {
      CHECK(seq == 0);
    }
  }
  CHECK(invalid == 0);
  CHECK(duplicates == 0);
  CHECK(out_of_range == 0);
  CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<long>(kTotal));
  // Within one thread, a later event always got a larger seq.
  std::sort(by_seq.begin(), by_seq.end());
  for (const auto& [seq, who] : by_seq) {
    if (who.second != per_thread_next[who.first]) ++thread_order_broken;
    per_thread_next[who.first] = who.second + 1;
  }
  CHECK(thread_order_broken == 0);
  for (int t = 0; t < kThreads; ++t) CHECK(per_thread_next[t] == kPerThread);
}

namespace {

// Delivers everything at once: the queue drains as fast as the worker can take it.
class InstantTransport : public Transport {
 public:
  void send(std::vector<EncodedEvent>& events, const Deadline&) noexcept override {
    sdk_test::set_outcome(events, DeliveryOutcome::delivered);
  }
};

}  // namespace

TEST_CASE("producers racing a fast worker never see a full queue that is nearly empty", "[sdk][concurrency]") {
  // A producer measures the queue as (events counted) - (events completed). Others can count
  // and complete events between its count and its read of the completed count, so the
  // difference can be negative; read as unsigned it was 2^64 - k, and the event was spilled or
  // dropped as if the queue were full.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  Options o;
  o.transport_factory = [] { return std::make_unique<InstantTransport>(); };
  o.overflow_to_spool = false;  // an event taken for overflow is then counted as queue-full
  // Bounds far above the 200 008 events recorded, so that only a misread depth can spill, also
  // when the worker is much slower than the producers (as under TSan).
  o.max_queue_events = 1u << 20;
  o.max_queue_bytes = std::size_t{4} << 30;
  o.flush_interval = std::chrono::milliseconds(1);
  o.batch_size = 1;  // the worker wakes as often as it can
  Client client(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&client, t] {
      SessionOptions so;
      so.agent = "racer-" + std::to_string(t);
      so.client = &client;
      Session s(std::move(so));
      for (int i = 0; i < kPerThread; ++i) s.agent_message("m");
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(client.flush(std::chrono::seconds(30)));
  const Stats stats = client.stats();
  CHECK(stats.dropped_queue_full == 0);
  CHECK(stats.dropped_total() == 0);
  CHECK(stats.delivered == std::uint64_t{kThreads} * (kPerThread + 2));
}
