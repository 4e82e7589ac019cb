// HttpTransport against a real HTTP server on an ephemeral loopback port: the fault server for
// outages and misbehaviour. After each scenario the accounting is checked: every event given
// is stored by the server, dead-lettered, still spooled, or counted as dropped.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "fault_proxy.hpp"
#include "promptetheus/version.hpp"
#include "transport/http_transport.hpp"
#include "transport/spool_line.hpp"
#include "transport/spool_replay.hpp"

using namespace promptetheus;
using namespace promptetheus::detail;
using namespace promptetheus::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/prom-http-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Canonical JSON-spool lines, as the worker produces them. seq 0 is session_started.
EncodedEvent make_event(const std::string& sid, std::uint64_t seq, std::size_t pad = 0) {
  const std::string key = sid + ":0badcafe:" + std::to_string(seq);
  std::string json;
  nlohmann::json j;
  if (seq == 0) {
    j = {{"idempotency_key", key},
         {"metadata", {{"run", 1}}},
         {"payload",
          {{"after",
            {{"agent", "calendar-agent"}, {"environment", "test"}, {"project_id", nullptr},
             {"tags", {"demo"}}, {"user_goal", "Book Tuesday"}}},
           {"before", nullptr},
           {"name", "session_started"}}},
         {"seq", 0},
         {"session_id", sid},
         {"timestamp", "2026-11-21T20:42:43.441411Z"},
         {"type", "state_change"}};
  } else {
    j = {{"idempotency_key", key},
         {"payload", {{"content", "message " + std::to_string(seq) + std::string(pad, 'x')}}},
         {"seq", seq},
         {"session_id", sid},
         {"timestamp", "2026-11-21T20:42:43.441511Z"},
         {"type", "user_message"}};
  }
  EncodedEvent e;
  // Its facts (type, key, session flags, the trace body of session_started) as a spool line gives them.
  REQUIRE(parse_spool_line(j.dump(), sid, e));
  return e;
}

std::vector<EncodedEvent> session_events(const std::string& sid, std::uint64_t from, std::uint64_t to,
                                         std::size_t pad = 0) {
  std::vector<EncodedEvent> out;
  for (auto s = from; s < to; ++s) out.push_back(make_event(sid, s, pad));
  return out;
}

HttpTransportConfig fast_config(const std::string& url, const fs::path& spool) {
  HttpTransportConfig c;
  c.endpoint = url;
  c.api_key = "pt_dev_key";
  c.spool_dir = spool.string();
  c.connect_timeout = 1000ms;
  c.request_timeout = 2000ms;
  c.backoff_base = 5ms;
  c.backoff_cap = 40ms;
  c.circuit_reset = 100ms;
  c.rng_seed = 1234;
  return c;
}

// The outcomes send() set, summed over every call.
struct Counters {
  std::uint64_t delivered_events = 0, spooled_events = 0, dead_lettered_events = 0, safe_dropped_events = 0,
                dropped_io_error = 0, pending = 0;
  void add(const std::vector<EncodedEvent>& events) {
    for (const auto& e : events) {
      switch (e.outcome) {
        case DeliveryOutcome::delivered: ++delivered_events; break;
        case DeliveryOutcome::spooled: ++spooled_events; break;
        case DeliveryOutcome::dead_lettered: ++dead_lettered_events; break;
        case DeliveryOutcome::duplicate: ++safe_dropped_events; break;
        case DeliveryOutcome::dropped: ++dropped_io_error; break;
        case DeliveryOutcome::pending: ++pending; break;
      }
    }
  }
};

struct Harness {
  Counters counters;
  HttpTransport transport;
  std::uint64_t given = 0;
  explicit Harness(HttpTransportConfig c) : transport(std::move(c)) {}
  void send(std::vector<EncodedEvent> events, Deadline d = Deadline::after(10s)) {
    given += events.size();
    transport.send(events, d);
    counters.add(events);
    CHECK(counters.pending == 0);  // every event gets an outcome
  }
  // Lets the transport replay until the spool is empty (or time runs out).
  void drain(const fs::path& spool, std::chrono::milliseconds budget = 10s) {
    auto until = std::chrono::steady_clock::now() + budget;
    while (std::chrono::steady_clock::now() < until) {
      transport.idle(Deadline::after(2s));
      if (spool_lines(spool) == 0) return;
      std::this_thread::sleep_for(5ms);
    }
  }
  std::uint64_t accounted() const {
    return counters.delivered_events + counters.spooled_events + counters.dead_lettered_events +
           counters.safe_dropped_events + counters.dropped_io_error;
  }
  // Lines pending in the spool: its recorded runs and its outbox (where this transport spools).
  static std::size_t spool_lines(const fs::path& spool) {
    std::size_t n = 0;
    for (const fs::path& dir : {spool, spool / "outbox"}) {
      if (!fs::exists(dir)) continue;
      for (auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().extension() != ".jsonl") continue;
        std::ifstream in(e.path());
        std::string l;
        while (std::getline(in, l)) n += !l.empty();
      }
    }
    return n;
  }
};

std::vector<nlohmann::json> dead_letters(const fs::path& spool) {
  std::vector<nlohmann::json> out;
  auto dir = spool / "dead-letter";
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path());
    std::string l;
    while (std::getline(in, l)) out.push_back(nlohmann::json::parse(l));
  }
  return out;
}

bool no_claims_left(const fs::path& spool) {
  for (const fs::path& dir : {spool, spool / "outbox"}) {
    if (!fs::exists(dir)) continue;
    for (auto& e : fs::directory_iterator(dir)) {
      auto n = e.path().filename().string();
      if (n.find(".replaying-") != std::string::npos || n.find(".tmp-") != std::string::npos) return false;
    }
  }
  return true;
}

// Every event with seq in [0, n) is stored exactly once, in seq order.
void require_stored(const FaultServer& server, const std::string& sid, std::uint64_t n) {
  auto stored = server.stored_events(sid);
  REQUIRE(stored.size() == n);
  for (std::uint64_t i = 0; i < n; ++i) CHECK(stored[i]["seq"] == i);
}

// The trace POST of each session arrives before any of its events POSTs.
void require_trace_first(const FaultServer& server, const std::string& sid) {
  long trace_at = -1, first_events_at = -1;
  for (auto& r : server.requests()) {
    if (r.target == "/api/traces" && nlohmann::json::parse(r.body, nullptr, false).value("id", "") == sid &&
        trace_at < 0) {
      trace_at = static_cast<long>(r.index);
    }
    if (r.target.find("/events") != std::string::npos &&
        r.target.find(encode_path_segment(sid)) != std::string::npos && first_events_at < 0) {
      first_events_at = static_cast<long>(r.index);
    }
  }
  REQUIRE(trace_at >= 0);
  CHECK(trace_at < first_events_at);
}

}  // namespace

TEST_CASE("http: happy path stores each event once, trace first, in seq order", "[http][integration]") {
  FaultServer server;
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  // Interleaved sessions in one batch, then more of each.
  std::vector<EncodedEvent> batch;
  for (std::uint64_t s = 0; s < 60; ++s) {
    batch.push_back(make_event("sess_a", s));
    batch.push_back(make_event("sess_b", s));
  }
  h.send(batch);
  h.send(session_events("sess_a", 60, 130));
  h.send(session_events("sess_b", 60, 75, 2000));  // big events: gzip and the byte cap
  h.send(session_events("sess_c", 0, 2));          // a body under compress_min_bytes

  require_stored(server, "sess_a", 130);
  require_stored(server, "sess_b", 75);
  require_trace_first(server, "sess_a");
  require_trace_first(server, "sess_b");
  require_stored(server, "sess_c", 2);
  auto traces = server.trace_bodies();
  CHECK(traces["sess_a"]["agent"] == "calendar-agent");
  CHECK(traces["sess_a"]["user_goal"] == "Book Tuesday");
  CHECK(traces["sess_a"]["metadata"] == nlohmann::json{{"run", 1}});
  CHECK(h.counters.delivered_events == h.given);
  CHECK(h.accounted() == h.given);
  CHECK(h.counters.spooled_events == 0);
  CHECK(Harness::spool_lines(spool.path) == 0);

  bool saw_gzip = false, saw_plain = false;
  for (auto& r : server.requests()) {
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("authorization") == "Bearer pt_dev_key");
    CHECK(r.header("user-agent") == "promptetheus-cpp/" PROMPTETHEUS_VERSION_STRING);
    CHECK_FALSE(r.header("content-length").empty());
    CHECK(r.header("transfer-encoding").empty());
    if (r.target.find("/events") == std::string::npos) continue;
    auto doc = nlohmann::json::parse(r.body);
    CHECK(doc["events"].size() <= 50);
    if (r.header("content-encoding") == "gzip") {
      saw_gzip = true;
      CHECK(r.raw_body.size() < r.body.size());
      CHECK(r.body.size() >= 1024);
    } else {
      saw_plain = true;
      CHECK(r.body.size() < 1024);
    }
  }
  CHECK(saw_gzip);
  CHECK(saw_plain);
}

TEST_CASE("http: compress_min_bytes=0 disables gzip, max_batch_bytes caps bodies", "[http][integration]") {
  FaultServer server;
  TempDir spool;
  auto c = fast_config(server.base_url(), spool.path);
  c.compress_min_bytes = 0;
  c.max_batch_bytes = 16 * 1024;
  Harness h(c);
  h.send(session_events("s", 0, 40, 2000));
  require_stored(server, "s", 40);
  for (auto& r : server.requests()) {
    CHECK(r.header("content-encoding").empty());
    if (r.target.find("/events") != std::string::npos) CHECK(r.body.size() <= 16 * 1024 + 64);
  }
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: server down at start, then up: spooled, then replayed trace first", "[http][integration]") {
  FaultServer server;
  server.stop();  // connections refused
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("sess_down", 0, 30));
  h.send(session_events("sess_down", 30, 60));
  CHECK(h.counters.spooled_events == 60);
  CHECK(h.counters.delivered_events == 0);
  CHECK(h.accounted() == h.given);
  CHECK(Harness::spool_lines(spool.path) == 60);

  server.start();
  h.drain(spool.path);
  require_stored(server, "sess_down", 60);
  require_trace_first(server, "sess_down");
  CHECK(server.trace_not_found_count() == 0);
  CHECK(dead_letters(spool.path).empty());
  CHECK(h.transport.replay_totals().delivered == 60);
  CHECK(h.transport.health().replayed_events == 60);
  CHECK(no_claims_left(spool.path));
}

TEST_CASE("http: server stopped and restarted mid-run loses nothing", "[http][integration]") {
  FaultServer server;
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("s", 0, 40));
  server.stop();
  h.send(session_events("s", 40, 80));
  h.send(session_events("s", 80, 100));
  CHECK(h.counters.spooled_events == 60);
  server.start();
  h.send(session_events("s", 100, 120));  // sent live or after the spool, both fine
  h.drain(spool.path);
  require_stored(server, "s", 120);
  CHECK(h.accounted() == h.given);
  CHECK(Harness::spool_lines(spool.path) == 0);
  CHECK(no_claims_left(spool.path));
}

TEST_CASE("http: 500 storm then recovery: retried from the spool, never dead-lettered", "[http][integration]") {
  FaultServer server;
  std::atomic<int> failures{0};
  server.set_fault([&](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") != std::string::npos && failures < 8) {
      ++failures;
      return Fault::status_code(500);
    }
    return std::nullopt;
  });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  for (int i = 0; i < 5; ++i) h.send(session_events("storm", i * 20, i * 20 + 20));
  h.drain(spool.path);
  require_stored(server, "storm", 100);
  CHECK(failures == 8);
  CHECK(h.transport.health().retries > 0);
  CHECK(dead_letters(spool.path).empty());
  CHECK(h.accounted() == h.given);
  CHECK(h.transport.health().circuit_state == 0);
}

TEST_CASE("http: 429 with Retry-After: no request before it expires", "[http][integration]") {
  FaultServer server;
  std::atomic<bool> throttled{false};
  server.set_fault([&](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") != std::string::npos && !throttled.exchange(true)) {
      return Fault::status_code(429).with_header("Retry-After", "1");
    }
    return std::nullopt;
  });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("s", 0, 10));
  CHECK(h.counters.spooled_events == 10);
  // Keep the transport busy: new events and idle passes during the Retry-After window.
  auto start = std::chrono::steady_clock::now();
  std::uint64_t seq = 10;
  while (std::chrono::steady_clock::now() - start < 1500ms) {
    h.send(session_events("s", seq, seq + 1));
    ++seq;
    h.transport.idle(Deadline::after(1s));
    std::this_thread::sleep_for(20ms);
  }
  h.drain(spool.path);
  require_stored(server, "s", seq);
  auto reqs = server.requests();
  std::optional<std::chrono::steady_clock::time_point> throttled_at;
  for (auto& r : reqs) {
    if (r.target.find("/events") == std::string::npos) continue;
    if (!throttled_at) {
      throttled_at = r.at;
      continue;
    }
    CHECK(r.at - *throttled_at >= 1s);
  }
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: a server that never answers: interrupt() returns promptly, events spooled", "[http][integration]") {
  FaultServer server;
  server.set_fault([](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") != std::string::npos) return Fault::hang();
    return std::nullopt;
  });
  TempDir spool;
  auto c = fast_config(server.base_url(), spool.path);
  c.request_timeout = 60000ms;
  c.low_speed_time = std::chrono::seconds(60);
  Harness h(c);
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    h.transport.interrupt();
  });
  auto start = std::chrono::steady_clock::now();
  h.send(session_events("hung", 0, 20), Deadline::none());
  auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  CHECK(took < 5s);
  CHECK(h.counters.spooled_events == 20);
  CHECK(Harness::spool_lines(spool.path) == 20);
  // After interrupt() nothing touches the network; close() returns at once.
  auto before = server.requests().size();
  h.send(session_events("hung", 20, 25), Deadline::none());
  h.transport.close(Deadline::after(5s));
  CHECK(server.requests().size() == before);
  CHECK(h.accounted() == h.given);
  server.stop();
}

TEST_CASE("http: a server that never answers: the send deadline bounds the transfer", "[http][integration]") {
  FaultServer server;
  server.set_fault([](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") != std::string::npos) return Fault::hang();
    return std::nullopt;
  });
  TempDir spool;
  auto c = fast_config(server.base_url(), spool.path);
  c.request_timeout = 60000ms;
  Harness h(c);
  auto start = std::chrono::steady_clock::now();
  h.send(session_events("slow", 0, 5), Deadline::after(400ms));
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(h.counters.spooled_events == 5);
  CHECK(h.accounted() == h.given);
  server.stop();
}

TEST_CASE("http: per-event rejects land in the dead letter with the server's reason", "[http][integration]") {
  FaultServer server;
  server.reject_keys({{"rej:0badcafe:3", "schema_invalid"}, {"rej:0badcafe:7", "seq 7 already recorded"}});
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("rej", 0, 10));
  auto stored = server.stored_events("rej");
  CHECK(stored.size() == 8);
  auto dead = dead_letters(spool.path);
  REQUIRE(dead.size() == 2);
  std::map<std::uint64_t, std::string> reasons;
  for (auto& d : dead) reasons[d["seq"]] = d["_reject_reason"];
  CHECK(reasons[3] == "schema_invalid");
  CHECK(reasons[7] == "seq 7 already recorded");
  CHECK(h.counters.dead_lettered_events == 2);
  CHECK(h.counters.delivered_events == 8);
  CHECK(h.counters.spooled_events == 0);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: replaying the same spool twice stores each event once", "[http][integration]") {
  FaultServer server;
  TempDir spool;
  fs::create_directories(spool.path / "outbox");
  auto write_file = [&] {
    std::ofstream out(spool.path / "outbox" / "twice.jsonl");
    for (auto& e : session_events("twice", 0, 70)) out << e.json << "\n";
  };
  write_file();
  Harness h(fast_config(server.base_url(), spool.path));
  auto first = h.transport.replay_now(Deadline::after(10s));
  CHECK(first.events_sent == 70);
  write_file();
  auto second = h.transport.replay_now(Deadline::after(10s));
  CHECK(second.events_sent == 70);
  require_stored(server, "twice", 70);
  require_trace_first(server, "twice");
  CHECK(dead_letters(spool.path).empty());
  CHECK(Harness::spool_lines(spool.path) == 0);
  // Batched: no request carries more than batch_size events.
  for (auto& r : server.requests()) {
    if (r.target.find("/events") != std::string::npos) CHECK(nlohmann::json::parse(r.body)["events"].size() <= 50);
  }
}

TEST_CASE("http: a hostile session id is one percent-encoded path segment", "[http][integration]") {
  FaultServer server;
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  const std::string sid = "../x?y#";
  h.send(session_events(sid, 0, 3));
  require_stored(server, sid, 3);
  bool saw = false;
  for (auto& r : server.requests()) {
    if (r.target.find("/events") == std::string::npos) continue;
    CHECK(r.target == "/api/traces/..%2Fx%3Fy%23/events");
    saw = true;
  }
  CHECK(saw);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: 401 spools and pauses, never dead-letters", "[http][integration]") {
  FaultServer server;
  server.set_fault([](const RecordedRequest&) -> std::optional<Fault> { return Fault::status_code(401); });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("auth", 0, 5));
  auto after_first = server.requests().size();
  CHECK(after_first == 1);  // the trace POST was refused; nothing else was tried
  h.send(session_events("auth", 5, 10));
  h.transport.idle(Deadline::after(1s));
  CHECK(server.requests().size() == after_first);  // paused
  CHECK(h.counters.spooled_events == 10);
  CHECK(dead_letters(spool.path).empty());
  CHECK(h.transport.health().circuit_state == 1);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: 404 for events re-creates the lost trace and retries once", "[http][integration]") {
  FaultServer server;
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("lost", 0, 10));
  server.forget_everything();  // e.g. a dev server restarted on a fresh database
  h.send(session_events("lost", 10, 20));
  auto stored = server.stored_events("lost");
  REQUIRE(stored.size() == 10);
  CHECK(stored.front()["seq"] == 10);
  CHECK(server.trace_bodies()["lost"]["agent"] == "calendar-agent");  // from the cached session_started
  CHECK(h.counters.delivered_events == 20);
  CHECK(dead_letters(spool.path).empty());

  // An unknown session (no session_started seen) gets a bare trace instead of a dead letter.
  h.send(session_events("orphan", 5, 8));
  CHECK(server.stored_events("orphan").size() == 3);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: 5000 sessions started in one batch all get their full trace, none a bare one",
          "[http][integration]") {
  FaultServer server;
  TempDir spool;
  HttpTransportConfig config = fast_config(server.base_url(), spool.path);
  config.batch_size = 500;
  Harness h(config);
  std::vector<EncodedEvent> events;
  constexpr int kSessions = 5000;
  for (int i = 0; i < kSessions; ++i) {
    for (auto& e : session_events("many-" + std::to_string(i), 0, 2)) events.push_back(std::move(e));
  }
  h.send(std::move(events));
  CHECK(h.counters.delivered_events == 2u * kSessions);
  auto bodies = server.trace_bodies();
  REQUIRE(bodies.size() == static_cast<std::size_t>(kSessions));
  int bare = 0;
  for (int i = 0; i < kSessions; ++i) {
    if (bodies["many-" + std::to_string(i)].value("agent", nlohmann::json()) != "calendar-agent") ++bare;
  }
  CHECK(bare == 0);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: 413 splits the batch, a single oversize event is dead-lettered", "[http][integration]") {
  FaultServer server;
  server.set_fault([](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") == std::string::npos) return std::nullopt;
    if (r.body.size() > 6000) return Fault::status_code(413);
    return std::nullopt;
  });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  auto events = session_events("big", 0, 20, 500);
  events.push_back(make_event("big", 20, 9000));
  h.send(events);
  CHECK(server.stored_events("big").size() == 20);
  auto dead = dead_letters(spool.path);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0]["seq"] == 20);
  CHECK(dead[0]["_reject_reason"] == "http_413");
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: 409 counts as accepted (safe drop), 422 dead-letters http_422", "[http][integration]") {
  FaultServer server;
  std::atomic<int> mode{409};
  server.set_fault([&](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") == std::string::npos) return std::nullopt;
    return Fault::status_code(mode);
  });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("dup", 0, 4));
  CHECK(h.counters.safe_dropped_events == 4);
  mode = 422;
  h.send(session_events("dup", 4, 7));
  CHECK(h.counters.dead_lettered_events == 3);
  for (auto& d : dead_letters(spool.path)) CHECK(d["_reject_reason"] == "http_422");
  CHECK(h.counters.spooled_events == 0);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: an ambiguous 2xx spools the unaccounted events, which replay later", "[http][integration]") {
  FaultServer server;
  std::atomic<int> ambiguous{0};
  server.set_fault([&](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") != std::string::npos && ambiguous++ == 0) return Fault::status_code(200, "{}");
    return std::nullopt;
  });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("amb", 0, 6));
  CHECK(h.counters.spooled_events == 6);
  CHECK(h.counters.delivered_events == 0);
  h.drain(spool.path);
  require_stored(server, "amb", 6);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: the breaker opens after repeated failures and skips batches", "[http][integration]") {
  FaultServer server;
  server.stop();
  TempDir spool;
  auto c = fast_config(server.base_url(), spool.path);
  c.max_retries = 0;
  c.circuit_failure_threshold = 1;
  c.circuit_reset = 60000ms;
  Harness h(c);
  h.send(session_events("cb", 0, 3));
  CHECK(h.transport.health().circuit_state == 1);
  h.send(session_events("cb", 3, 6));
  CHECK(h.transport.health().circuit_skipped_batches >= 1);
  CHECK(h.counters.spooled_events == 6);
  CHECK(h.accounted() == h.given);
}

TEST_CASE("http: a connection closed without a response is transient", "[http][integration]") {
  FaultServer server;
  std::atomic<int> closes{0};
  server.set_fault([&](const RecordedRequest& r) -> std::optional<Fault> {
    if (r.target.find("/events") != std::string::npos && closes++ < 2) return Fault::close();
    return std::nullopt;
  });
  TempDir spool;
  Harness h(fast_config(server.base_url(), spool.path));
  h.send(session_events("cl", 0, 10));
  h.drain(spool.path);
  require_stored(server, "cl", 10);
  CHECK(dead_letters(spool.path).empty());
  CHECK(h.accounted() == h.given);
}
