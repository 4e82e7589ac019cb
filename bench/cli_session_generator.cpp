// Records one large session with the SDK, for timing the CLI on it (bench/cli/time_commands.sh).
// usage: cli_session_generator <spool dir> [events, default 100000]
// The session "bench_large" mixes what real agent runs hold: nested spans, tool calls with some
// failing, llm calls, DOM snapshots, browser actions, metrics, scores, errors, retrievals and
// non-ASCII text. Deterministic for a given event count.
#include <promptetheus/promptetheus.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace pt = promptetheus;
using json = nlohmann::json;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cli_session_generator <spool dir> [events]\n");
    return 2;
  }
  const long target = argc > 2 ? std::atol(argv[2]) : 100000;
  pt::Options options;
  options.transport = pt::TransportMode::spool;
  options.spool_dir = argv[1];
  options.max_queue_events = 1u << 20;
  options.max_queue_bytes = 1ull << 30;
  options.flush_at_exit = false;
  pt::Client client(options);

  pt::SessionOptions so;
  so.agent = "bench-agent";
  so.user_goal = "Book a meeting room for the Zürich offsite — 12 people, Tuesday";
  so.session_id = "bench_large";
  so.client = &client;
  so.tags = {"bench"};
  {
    pt::Session session(so);
    session.user_message(so.user_goal);
    unsigned step = 0;
    auto emitted = [&] { return static_cast<long>(client.stats().enqueued); };
    while (emitted() < target - 16) {
      ++step;
      int depth = 1 + static_cast<int>(step % 6);
      // A chain of nested spans, as agents that plan, act and verify produce.
      std::vector<std::unique_ptr<pt::Span>> spans;
      for (int d = 0; d < depth && step % 3 == 0; ++d) {
        spans.push_back(std::make_unique<pt::Span>(session, "step_" + std::to_string(step) + "_" + std::to_string(d)));
      }
      session.llm_call("gpt-4o-mini", {static_cast<std::int64_t>(800 + step % 400), 120, 640});
      std::string call = session.tool_call("calendar.search", {{"day", "Tuesday"}, {"room_size", 12}, {"page", step}});
      if (step % 33 == 0) {
        session.tool_result(call, nullptr, std::string("TimeoutError: upstream timed out after 30s"));
        session.error("upstream timed out after 30s", std::string("TimeoutError"));
      } else {
        session.tool_result(call, {{"rooms", {"Üetliberg", "Limmat", "Grossmünster"}}, {"page", step}});
      }
      if (step % 4 == 0) {
        session.dom_snapshot("https://rooms.example/book?page=" + std::to_string(step),
                             "Rooms available on Tuesday: Üetliberg (12), Limmat (8). Book now →",
                             {{"date", "Tuesday"}}, {"slow render"});
        session.browser_action("click", "#book-" + std::to_string(step % 10), std::string("https://rooms.example/book"));
      }
      if (step % 5 == 0) session.retrieval("room policy", json::array({{{"id", "doc-1"}, {"score", 0.82}}}));
      session.metric("latency_ms", 100.0 + step % 50, std::string("ms"));
      if (step % 7 == 0) session.score("relevance", 0.5 + (step % 5) / 10.0);
      session.agent_message("Checked page " + std::to_string(step) + " — still looking.");
    }
    session.goal_check(false, {"booked Limmat (8 seats) instead of a room for 12"});
    session.end("failed", "RuntimeError: agent booked a room that is too small");
  }
  if (!client.shutdown(std::chrono::seconds(60))) return 1;
  auto stats = client.stats();
  std::printf("bench_large: %llu events written to %s\n", static_cast<unsigned long long>(stats.written), argv[1]);
  return stats.dropped_total() == 0 ? 0 : 1;
}
