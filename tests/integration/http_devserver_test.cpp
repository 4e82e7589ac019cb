// HttpTransport against the real `promptetheus dev` server (in-process, ephemeral port):
// delivery, an outage with restart on the same database, and idempotent replay.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dev_server_fixture.hpp"
#include "transport/http_transport.hpp"
#include "transport/spool_line.hpp"

using namespace promptetheus;
using namespace promptetheus::detail;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct SpoolDir {
  fs::path path;
  SpoolDir() {
    char tmpl[] = "/tmp/prom-http-dev-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~SpoolDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  // Lines of the *.jsonl files directly in `dir`.
  static std::size_t lines_in(const fs::path& dir) {
    std::size_t n = 0;
    if (!fs::exists(dir)) return 0;
    for (auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().extension() != ".jsonl") continue;
      std::ifstream in(e.path());
      std::string l;
      while (std::getline(in, l)) n += !l.empty();
    }
    return n;
  }
  std::size_t recorded_lines() const { return lines_in(path); }
  std::size_t outbox_lines() const { return lines_in(path / "outbox"); }
  std::size_t pending_lines() const { return recorded_lines() + outbox_lines(); }
  bool dead_letter_empty() const { return !fs::exists(path / "dead-letter") || fs::is_empty(path / "dead-letter"); }
};

std::vector<EncodedEvent> events(const std::string& sid, std::uint64_t from, std::uint64_t to) {
  std::vector<EncodedEvent> out;
  for (auto s = from; s < to; ++s) {
    nlohmann::json j;
    if (s == 0) {
      j = {{"idempotency_key", sid + ":1234abcd:0"},
           {"payload",
            {{"after", {{"agent", "calendar-agent"}, {"environment", nullptr}, {"project_id", nullptr},
                        {"tags", {"demo"}}, {"user_goal", "Book Tuesday at 2pm"}}},
             {"before", nullptr},
             {"name", "session_started"}}},
           {"seq", 0}, {"session_id", sid}, {"timestamp", "2026-11-21T20:42:43.441411Z"},
           {"type", "state_change"}};
    } else {
      j = {{"idempotency_key", sid + ":1234abcd:" + std::to_string(s)},
           {"payload", {{"content", "step " + std::to_string(s)}}},
           {"seq", s}, {"session_id", sid}, {"timestamp", "2026-11-21T20:42:43.441511Z"},
           {"type", "user_message"}};
    }
    EncodedEvent e;
    // Its facts (type, key, session flags, the trace body of session_started) as a spool line gives them.
    REQUIRE(parse_spool_line(j.dump(), sid, e));
    out.push_back(std::move(e));
  }
  return out;
}

HttpTransportConfig config_for(const testing::DevServerFixture& server, const SpoolDir& spool) {
  HttpTransportConfig c;
  c.endpoint = server.base_url();
  c.api_key = server.api_key();
  c.spool_dir = spool.path.string();
  c.connect_timeout = 1000ms;
  c.request_timeout = 5000ms;
  c.backoff_base = 5ms;
  c.backoff_cap = 40ms;
  c.circuit_reset = 100ms;
  return c;
}

void drain(HttpTransport& t, const SpoolDir& spool) {
  for (int i = 0; i < 400 && spool.pending_lines() > 0; ++i) {
    t.idle(Deadline::after(2s));
    std::this_thread::sleep_for(10ms);
  }
}

void require_stored_once_in_order(const testing::DevServerFixture& server, const std::string& sid,
                                  std::uint64_t n) {
  auto stored = server.events(sid);
  REQUIRE(stored);
  REQUIRE(stored->size() == n);
  for (std::uint64_t i = 0; i < n; ++i) CHECK((*stored)[i]["seq"] == i);
}

promptetheus::detail::OutcomeTally tally(const std::vector<EncodedEvent>& events) {
  promptetheus::detail::OutcomeTally t;
  t.add(events);
  return t;
}

}  // namespace

TEST_CASE("http+dev: events are stored once, in order, under a trace built from session_started",
          "[http][devserver]") {
  testing::DevServerFixture server;
  SpoolDir spool;
  HttpTransport t(config_for(server, spool));
  auto batch = events("01M7ZXHNVH2DNQWAR7C5Q4VEFW", 0, 120);
  t.send(batch, Deadline::after(10s));
  const auto counters = tally(batch);
  require_stored_once_in_order(server, "01M7ZXHNVH2DNQWAR7C5Q4VEFW", 120);
  auto trace = server.trace("01M7ZXHNVH2DNQWAR7C5Q4VEFW");
  REQUIRE(trace);
  CHECK((*trace)["agent"] == "calendar-agent");
  CHECK((*trace)["user_goal"] == "Book Tuesday at 2pm");
  CHECK(counters.delivered == 120);
  CHECK(spool.pending_lines() == 0);
  CHECK(spool.dead_letter_empty());
}

TEST_CASE("http+dev: server stopped and restarted mid-run", "[http][devserver]") {
  testing::DevServerFixture server;
  SpoolDir spool;
  HttpTransport t(config_for(server, spool));
  auto a = events("sess_restart", 0, 30);
  t.send(a, Deadline::after(10s));
  server.stop();
  auto b = events("sess_restart", 30, 60);
  t.send(b, Deadline::after(10s));
  const auto first = tally(a), second = tally(b);
  CHECK(first.delivered == 30);
  CHECK(second.spooled == 30);
  CHECK(spool.outbox_lines() == 30);  // the retry backlog, apart from recorded runs
  CHECK(spool.recorded_lines() == 0);
  server.restart();
  drain(t, spool);
  require_stored_once_in_order(server, "sess_restart", 60);
  CHECK(first.delivered + second.spooled == 60);
  CHECK(spool.pending_lines() == 0);
  CHECK(spool.dead_letter_empty());
}

TEST_CASE("http+dev: a spool replayed twice is stored once, hostile ids stay one segment",
          "[http][devserver]") {
  testing::DevServerFixture server;
  SpoolDir spool;
  const std::string sid = "../x?y#";
  auto write = [&] {
    fs::create_directories(spool.path / "outbox");
    std::ofstream out(spool.path / "outbox" / "x_y.jsonl");
    for (auto& e : events(sid, 0, 75)) out << e.json << "\n";
  };
  HttpTransport t(config_for(server, spool));
  write();
  CHECK(t.replay_now(Deadline::after(10s)).events_sent == 75);
  write();
  CHECK(t.replay_now(Deadline::after(10s)).events_sent == 75);
  require_stored_once_in_order(server, sid, 75);
  CHECK(spool.pending_lines() == 0);
  CHECK(spool.dead_letter_empty());
}

TEST_CASE("http+dev: runs recorded in spool mode are neither sent nor deleted until replayed by hand",
          "[http][devserver]") {
  testing::DevServerFixture server;
  SpoolDir spool;
  {
    std::ofstream out(spool.path / "recorded.jsonl");
    for (auto& e : events("recorded", 0, 12)) out << e.json << "\n";
  }
  {
    HttpTransport t(config_for(server, spool));
    auto live = events("live", 0, 5);
    t.send(live, Deadline::after(10s));
    t.idle(Deadline::after(5s));
    CHECK(t.replay_now(Deadline::after(5s)).events_sent == 0);
    t.close(Deadline::after(5s));
  }
  require_stored_once_in_order(server, "live", 5);
  CHECK_FALSE(server.trace("recorded"));
  CHECK(spool.recorded_lines() == 12);

  // `promptetheus spool replay` asks for them: then they are delivered and leave the spool.
  auto by_hand = config_for(server, spool);
  by_hand.replay_recorded_runs = true;
  HttpTransport t(by_hand);
  CHECK(t.replay_now(Deadline::after(10s)).events_sent == 12);
  require_stored_once_in_order(server, "recorded", 12);
  CHECK(spool.pending_lines() == 0);
  CHECK(spool.dead_letter_empty());
}
