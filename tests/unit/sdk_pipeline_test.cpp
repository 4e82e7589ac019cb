// The pipeline: artifacts (contract §2.5), stats accounting, the queue bound, the spool transport
// (§4.3, §4.7), no-op handles, and bounded flush/shutdown with a transport that blocks.
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include <catch2/catch.hpp>

#include "analysis/session_store.hpp"
#include "promptetheus/client.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/transport.hpp"
#include "transport/spool.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using sdk_test::session_on;
using sdk_test::seconds_since;
using nlohmann::json;
using sdk_test::fs::path;
using sdk_test::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); }

// A destination whose send() blocks until the test releases it, or (when it honours interrupts)
// until the pipeline interrupts it. Events it could not deliver are counted as I/O drops.
class BlockingTransport : public Transport {
 public:
  explicit BlockingTransport(bool honour_interrupt) : honour_interrupt_(honour_interrupt) {}

  void send(std::vector<EncodedEvent>& events, const Deadline&) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++sends_entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_ || (honour_interrupt_ && interrupted_); });
    sdk_test::set_outcome(events, released_ ? DeliveryOutcome::delivered : DeliveryOutcome::dropped);
    ++sends_returned_;
    cv_.notify_all();
  }
  void interrupt() noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
    cv_.notify_all();
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }
  bool wait_for_send(milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return sends_entered_ > 0; });
  }
  bool wait_until_returned(milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return sends_returned_ == sends_entered_; });
  }
  bool interrupted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return interrupted_;
  }

 private:
  const bool honour_interrupt_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  bool interrupted_ = false;
  int sends_entered_ = 0;
  int sends_returned_ = 0;
};

// Records each batch as the worker hands it over.
class RecordingTransport : public Transport {
 public:
  void send(std::vector<EncodedEvent>& events, const Deadline&) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, std::uint64_t>> batch;
    for (const auto& e : events) batch.emplace_back(e.session_id, e.seq);
    batches_.push_back(std::move(batch));
    sdk_test::set_outcome(events, DeliveryOutcome::delivered);
  }
  std::vector<std::vector<std::pair<std::string, std::uint64_t>>> batches() {
    std::lock_guard<std::mutex> lock(mutex_);
    return batches_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<std::pair<std::string, std::uint64_t>>> batches_;
};

}  // namespace

// ---- artifacts --------------------------------------------------------------------------------

TEST_CASE("screenshot bytes are kept in the artifact store and referenced by the event", "[sdk][artifacts]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  const std::string png("\x89PNG\r\n\x1a\nfake image", 19);
  {
    Session s(session_on(client, "shots"));
    CHECK(s.screenshot(bytes_of(png), json{{"page", "checkout"}}));
  }
  REQUIRE(client.flush(seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "shots.jsonl");
  REQUIRE(events.size() == 3);
  const json& e = events[1];
  CHECK(e.at("type") == "screenshot");
  CHECK(e.at("metadata") == json{{"page", "checkout"}});
  const json& p = e.at("payload");
  CHECK(p.size() == 4);
  CHECK(p.at("size_bytes") == 19);
  CHECK(p.at("source_type") == "bytes");
  std::string artifact_id = p.at("artifact_id");
  CHECK(std::regex_match(artifact_id, std::regex("^artifact_[0-9a-f]{32}$")));
  std::string storage_path = p.at("storage_path");
  CHECK(storage_path == (dir.path / "artifacts" / "shots" / artifact_id / "artifact.png").string());
  CHECK(sdk_test::read_file(storage_path) == png);
}

TEST_CASE("a screenshot file is copied into the store with a .png name, a missing file keeps its path",
          "[sdk][artifacts]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  path source = dir.path / "shot.jpg";
  std::ofstream(source, std::ios::binary) << "JPGDATA";
  path missing = dir.path / "nope" / "x.png";
  {
    Session s(session_on(client, "files"));
    CHECK(s.screenshot(source));
    CHECK(s.screenshot(missing));
  }
  REQUIRE(client.flush(seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "files.jsonl");
  REQUIRE(events.size() == 4);
  const json& copied = events[1].at("payload");
  CHECK(copied.at("size_bytes") == 7);
  CHECK(copied.at("source") == source.string());
  CHECK_FALSE(copied.contains("source_type"));  // "path" is never emitted
  std::string artifact_id = copied.at("artifact_id");
  CHECK(copied.at("storage_path") == (dir.path / "artifacts" / "files" / artifact_id / "shot.png").string());
  CHECK(sdk_test::read_file(copied.at("storage_path").get<std::string>()) == "JPGDATA");
  CHECK(events[2].at("payload") == json{{"source", missing.string()}});
}

TEST_CASE("replay_artifact keeps its type and event_time_map, with a .webm name", "[sdk][artifacts]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  path audio = dir.path / "call.ogg";
  std::ofstream(audio, std::ios::binary) << "OGGDATA!";
  {
    Session s(session_on(client, "replays"));
    CHECK(s.replay_artifact(bytes_of("xyz")));
    CHECK(s.replay_artifact(audio, "audio_recording", json{{"1", 0}, {"3", 1200}}));
    CHECK(s.replay_artifact(dir.path / "absent.webm", "screen_recording"));
  }
  REQUIRE(client.flush(seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "replays.jsonl");
  REQUIRE(events.size() == 5);
  const json& bytes = events[1].at("payload");
  CHECK(bytes.at("artifact_type") == "screen_recording");
  CHECK(bytes.at("event_time_map") == json::object());
  CHECK(bytes.at("size_bytes") == 3);
  CHECK_FALSE(bytes.contains("source_type"));  // screenshot only
  CHECK(sdk_test::read_file(bytes.at("storage_path").get<std::string>()) == "xyz");
  CHECK(path(bytes.at("storage_path").get<std::string>()).filename() == "artifact.webm");
  const json& file = events[2].at("payload");
  CHECK(file.at("artifact_type") == "audio_recording");
  CHECK(file.at("event_time_map") == json{{"1", 0}, {"3", 1200}});
  CHECK(file.at("size_bytes") == 8);
  CHECK(file.at("source") == audio.string());
  CHECK(path(file.at("storage_path").get<std::string>()).filename() == "call.webm");
  CHECK(sdk_test::read_file(file.at("storage_path").get<std::string>()) == "OGGDATA!");
  CHECK(events[3].at("payload") == json{{"artifact_type", "screen_recording"},
                                        {"event_time_map", json::object()},
                                        {"source", (dir.path / "absent.webm").string()}});
}

TEST_CASE("stored artifacts are private: directories 0700, files 0600", "[sdk][artifacts]") {
  TempDir dir;
  mode_t previous = ::umask(022);
  Client client(sdk_test::spool_options(dir));
  std::string storage_path;
  {
    Session s(session_on(client, "private-shot"));
    s.screenshot(bytes_of("secret screen"));
  }
  ::umask(previous);
  REQUIRE(client.flush(seconds(5)));
  auto events = sdk_test::read_events(dir.path / "spool" / "private-shot.jsonl");
  REQUIRE(events.size() == 3);
  storage_path = events[1].at("payload").at("storage_path");
  REQUIRE(sdk_test::fs::exists(storage_path));
  CHECK(sdk_test::file_mode(dir.path / "artifacts") == 0700);
  CHECK(sdk_test::file_mode(path(storage_path).parent_path()) == 0700);
  CHECK(sdk_test::file_mode(storage_path) == 0600);
}

// ---- stats and the queue bound ----------------------------------------------------------------

TEST_CASE("every event is accounted for in stats", "[sdk][stats]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  {
    Session s(session_on(client, "accounting"));
    for (int i = 0; i < 100; ++i) s.metric("i", i);
    s.llm_call("");  // invalid: dropped before the queue
  }
  REQUIRE(client.flush(seconds(5)));
  Stats st = client.stats();
  CHECK(st.enqueued == 102);
  CHECK(st.written == 102);
  CHECK(st.spooled == 102);
  CHECK(st.delivered == 0);
  CHECK(st.queue_depth == 0);
  CHECK(st.dropped_invalid == 1);
  CHECK(st.transport == "spool");
  CHECK(st.circuit_state == "closed");
  CHECK(sdk_test::accounted(st));
  CHECK(sdk_test::read_lines(dir.path / "spool" / "accounting.jsonl").size() == 102);
}

TEST_CASE("a full queue spills to the spool when overflow_to_spool is on: nothing is lost", "[sdk][stats]") {
  TempDir dir;
  Options o = sdk_test::spool_options(dir);
  o.max_queue_events = 4;
  o.flush_interval = milliseconds(1000);  // the worker sleeps while the burst arrives
  o.overflow_to_spool = true;
  Client client(o);
  int accepted = 0;
  {
    Session s(session_on(client, "spills"));
    for (int i = 0; i < 500; ++i) accepted += s.metric("i", i) ? 1 : 0;
  }
  CHECK(accepted == 500);
  REQUIRE(client.flush(seconds(10)));
  Stats st = client.stats();
  CHECK(st.enqueued == 502);
  CHECK(st.overflow_spilled > 0);
  CHECK(st.dropped_total() == 0);
  CHECK(st.written == 502);
  CHECK(sdk_test::accounted(st));
  auto events = sdk_test::read_events(dir.path / "spool" / "spills.jsonl");
  REQUIRE(events.size() == 502);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].at("seq") == i);
}

TEST_CASE("a full queue drops and counts when overflow_to_spool is off", "[sdk][stats]") {
  TempDir dir;
  Options o = sdk_test::spool_options(dir);
  o.max_queue_events = 4;
  o.flush_interval = milliseconds(1000);
  o.overflow_to_spool = false;
  Client client(o);
  int refused = 0;
  {
    Session s(session_on(client, "drops"));
    for (int i = 0; i < 500; ++i) refused += s.metric("i", i) ? 0 : 1;
  }
  REQUIRE(client.flush(seconds(10)));
  Stats st = client.stats();
  CHECK(st.enqueued == 502);
  CHECK(st.dropped_queue_full > 0);
  CHECK(st.dropped_queue_full >= static_cast<std::uint64_t>(refused));
  CHECK(st.overflow_spilled == 0);
  CHECK(sdk_test::accounted(st));
  auto lines = sdk_test::read_lines(dir.path / "spool" / "drops.jsonl");
  CHECK(lines.size() == st.written);
  CHECK(lines.size() + st.dropped_queue_full == 502);
}

// ---- the spool transport ----------------------------------------------------------------------

TEST_CASE("the spool file appears within the flush interval, before the session ends", "[sdk][spool]") {
  TempDir dir;
  Options o = sdk_test::spool_options(dir);
  o.flush_interval = milliseconds(100);
  Client client(o);
  Session s(session_on(client, "live"));
  s.user_message("first");
  path file = dir.path / "spool" / "live.jsonl";
  auto start = steady_clock::now();
  bool appeared = sdk_test::eventually([&] { return sdk_test::read_lines(file).size() == 2; }, seconds(5));
  CHECK(appeared);
  CHECK(seconds_since(start) < 3.0);
  CHECK(s.is_recording());  // still open
}

TEST_CASE("spool files are 0600 in 0700 directories", "[sdk][spool]") {
  TempDir dir;
  mode_t previous = ::umask(022);
  Options o = sdk_test::spool_options(dir);
  o.spool_dir = (dir.path / "nested" / "spool").string();
  {
    Client client(o);
    Session s(session_on(client, "perms"));
    s.user_message("x");
  }
  ::umask(previous);
  CHECK(sdk_test::file_mode(dir.path / "nested") == 0700);
  CHECK(sdk_test::file_mode(dir.path / "nested" / "spool") == 0700);
  CHECK(sdk_test::file_mode(dir.path / "nested" / "spool" / "perms.jsonl") == 0600);
}

TEST_CASE("session ids that are not file names are made safe", "[sdk][spool]") {
  TempDir dir;
  {
    Client client(sdk_test::spool_options(dir));
    Session s(session_on(client, "../team/run 1"));
    s.user_message("x");
  }
  auto events = sdk_test::read_events(dir.path / "spool" / "team_run_1.jsonl");
  REQUIRE(events.size() == 3);
  CHECK(events[0].at("session_id") == "../team/run 1");
  CHECK_FALSE(sdk_test::fs::exists(dir.path / "team"));
}

TEST_CASE("a session id too long for a file name is spooled whole under a bounded name", "[sdk][spool]") {
  TempDir dir;
  // 300 characters: more than a file name may have. They differ only in the last one.
  const std::string id_a = std::string(299, 'r') + "a";
  const std::string id_b = std::string(299, 'r') + "b";
  const std::string png("\x89PNG\r\n\x1a\nfake image", 19);
  {
    Client client(sdk_test::spool_options(dir));
    {
      Session a(session_on(client, id_a));
      Session b(session_on(client, id_b));
      CHECK(a.user_message("to a"));
      CHECK(a.screenshot(bytes_of(png)));
      CHECK(b.user_message("to b"));
    }
    REQUIRE(client.flush(seconds(5)));
    Stats st = client.stats();
    CHECK(st.enqueued == 7);
    CHECK(st.written == 7);
    CHECK(st.dropped_total() == 0);
    CHECK(sdk_test::accounted(st));
  }
  const std::string spool_dir = (dir.path / "spool").string();
  const detail::Spool spool(spool_dir);
  const path file_a = spool.pending_path(id_a);
  const path file_b = spool.pending_path(id_b);
  CHECK(file_a != file_b);
  CHECK(file_a.filename().string().size() <= 255);
  auto events_a = sdk_test::read_events(file_a);
  auto events_b = sdk_test::read_events(file_b);
  REQUIRE(events_a.size() == 4);
  REQUIRE(events_b.size() == 3);
  for (const auto& e : events_a) CHECK(e.at("session_id") == id_a);  // the id itself is in the file
  for (const auto& e : events_b) CHECK(e.at("session_id") == id_b);
  const std::string storage_path = events_a[2].at("payload").at("storage_path");
  CHECK(sdk_test::read_file(storage_path) == png);

  // The CLI finds each by its full id (replay, fingerprint, diff and export).
  for (const auto& [id, file, count] : {std::make_tuple(id_a, file_a, 4), std::make_tuple(id_b, file_b, 3)}) {
    auto loaded = analysis::load_target(id, spool_dir);
    REQUIRE(loaded.has_value());
    CHECK(loaded->source == file.string());
    CHECK(loaded->events.size() == static_cast<std::size_t>(count));
    CHECK(analysis::load_session_id(id, spool_dir).has_value());
    std::size_t streamed = 0;
    analysis::ReadStats stats;
    std::string source;
    CHECK(analysis::stream_target(
        id, spool_dir, [](void* n, const analysis::Event&) { ++*static_cast<std::size_t*>(n); }, &streamed, stats,
        source));
    CHECK(source == file.string());
    CHECK(streamed == static_cast<std::size_t>(count));
  }
  CHECK_FALSE(analysis::load_target(std::string(299, 'r') + "c", spool_dir).has_value());
}

TEST_CASE("looking a session up by id does not make short ids safe (contract §6)", "[sdk][spool]") {
  TempDir dir;
  {
    Client client(sdk_test::spool_options(dir));
    Session s(session_on(client, "team/run 1"));
    s.user_message("x");
  }
  const std::string spool_dir = (dir.path / "spool").string();
  REQUIRE(sdk_test::fs::exists(dir.path / "spool" / "team_run_1.jsonl"));
  CHECK_FALSE(analysis::load_target("team/run 1", spool_dir).has_value());
  CHECK(analysis::load_target("team_run_1", spool_dir).has_value());
}

TEST_CASE("transports receive each producer's events in order, and every event once", "[sdk][pipeline]") {
  TempDir dir;
  auto recorder = std::make_shared<RecordingTransport>();
  Options o = sdk_test::spool_options(dir);
  o.transport_factory = sdk_test::shared_transport(recorder);
  Client client(o);
  constexpr std::uint64_t kPerThread = 2000;
  {
    Session a(session_on(client, "a"));
    Session b(session_on(client, "b"));
    // One producer thread per session: seqs 1..kPerThread of each session come from one thread.
    std::thread ta([&] {
      for (std::uint64_t i = 0; i < kPerThread; ++i) a.metric("i", static_cast<double>(i));
    });
    std::thread tb([&] {
      for (std::uint64_t i = 0; i < kPerThread; ++i) b.metric("i", static_cast<double>(i));
    });
    ta.join();
    tb.join();
  }
  REQUIRE(client.flush(seconds(10)));
  // Queue order is FIFO per producer (the transport.hpp contract): across all batches, the
  // events each thread produced arrive in the order it produced them.
  std::map<std::string, std::uint64_t> last_seq;
  std::map<std::string, std::set<std::uint64_t>> seen;
  std::size_t total = 0;
  for (const auto& batch : recorder->batches()) {
    for (const auto& [session, seq] : batch) {
      ++total;
      seen[session].insert(seq);
      if (seq < 1 || seq > kPerThread) continue;  // session_started / session_end: another producer
      INFO("session " << session << ": seq " << seq << " after " << last_seq[session]);
      REQUIRE(seq > last_seq[session]);
      last_seq[session] = seq;
    }
  }
  CHECK(total == 2 * (kPerThread + 2));
  CHECK(seen["a"].size() == kPerThread + 2);
  CHECK(seen["b"].size() == kPerThread + 2);
  CHECK(client.stats().delivered == 2 * (kPerThread + 2));
  CHECK(client.stats().transport == "custom");
}

// ---- no-ops -----------------------------------------------------------------------------------

TEST_CASE("a default-constructed SessionHandle is a no-op", "[sdk][noop]") {
  SessionHandle h;
  CHECK(h.id() == "noop");
  CHECK_FALSE(h.is_recording());
  CHECK_FALSE(static_cast<bool>(h));
  CHECK_FALSE(h.user_message("x"));
  CHECK_FALSE(h.agent_message("x"));
  CHECK(h.tool_call("t").empty());
  CHECK_FALSE(h.tool_result("c"));
  CHECK_FALSE(h.retrieval("q", json::array()));
  CHECK_FALSE(h.browser_action("click", "#a"));
  CHECK_FALSE(h.dom_snapshot("u", "t"));
  CHECK_FALSE(h.screenshot(bytes_of("abc")));
  CHECK_FALSE(h.screenshot(path("/nope.png")));
  CHECK_FALSE(h.replay_artifact(bytes_of("abc")));
  CHECK_FALSE(h.llm_call("m"));
  CHECK_FALSE(h.score("s", 1));
  CHECK_FALSE(h.metric("m", 1));
  CHECK_FALSE(h.error(std::string("e")));
  CHECK_FALSE(h.error(std::runtime_error("e")));
  CHECK_FALSE(h.goal_check(true));
  CHECK_FALSE(h.state_change("s"));
  CHECK_FALSE(h.update_metadata(json{{"a", 1}}));
  CHECK_FALSE(h.add_tags({"a"}));
  CHECK_FALSE(h.end());
  CHECK(h.flush(milliseconds(10)));
}

TEST_CASE("after shutdown, sessions and helpers are no-ops and flush/shutdown return at once", "[sdk][noop]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  Session early(session_on(client, "early"));
  CHECK(early.user_message("before"));
  CHECK(client.shutdown(seconds(5)));
  Stats before = client.stats();
  CHECK_FALSE(early.is_recording());
  CHECK_FALSE(early.user_message("after"));
  CHECK_FALSE(early.end());
  {
    Session late(session_on(client, "late"));
    CHECK(late.id() == "noop");
    CHECK_FALSE(late.user_message("x"));
  }
  auto start = steady_clock::now();
  CHECK(client.flush(seconds(5)));
  CHECK(client.shutdown(seconds(5)));
  CHECK(seconds_since(start) < 1.0);
  Stats after = client.stats();
  CHECK(after.enqueued == before.enqueued);
  CHECK(sdk_test::accounted(after));
  CHECK(sdk_test::read_lines(dir.path / "spool" / "early.jsonl").size() == 2);
  CHECK_FALSE(sdk_test::fs::exists(dir.path / "spool" / "late.jsonl"));
}

TEST_CASE("transport=off records nothing", "[sdk][noop]") {
  TempDir dir;
  Options o = sdk_test::spool_options(dir);
  o.transport = TransportMode::off;
  Client client(o);
  {
    Session s(session_on(client, "off"));
    CHECK_FALSE(s.user_message("x"));
  }
  CHECK(client.flush(seconds(1)));
  CHECK(client.stats().enqueued == 0);
  CHECK_FALSE(sdk_test::fs::exists(dir.path / "spool"));
}

// ---- bounded flush and shutdown ---------------------------------------------------------------

TEST_CASE("flush and shutdown return within their bound while send() blocks, interrupt releases it",
          "[sdk][lifecycle]") {
  TempDir dir;
  auto blocking = std::make_shared<BlockingTransport>(/*honour_interrupt=*/true);
  Options o = sdk_test::spool_options(dir);
  o.transport_factory = sdk_test::shared_transport(blocking);
  Client client(o);
  Session s(session_on(client, "blocked"));
  s.user_message("stuck in send");
  REQUIRE(blocking->wait_for_send(milliseconds(5000)));
  for (int i = 0; i < 20; ++i) s.metric("queued", i);  // waits behind the blocked batch

  auto start = steady_clock::now();
  CHECK_FALSE(client.flush(milliseconds(200)));
  CHECK(seconds_since(start) < 2.0);

  start = steady_clock::now();
  // interrupt() releases send(); the worker then hands the rest over and exits in time.
  CHECK(client.shutdown(milliseconds(400)));
  CHECK(seconds_since(start) < 2.0);
  CHECK(blocking->interrupted());
  CHECK(blocking->wait_until_returned(milliseconds(5000)));
  Stats st = client.stats();
  CHECK(st.enqueued == 22);
  CHECK(st.queue_depth == 0);
  CHECK(st.dropped_io_error == 22);  // this transport counts what it could not deliver
  CHECK(sdk_test::accounted(st));
}

TEST_CASE("shutdown returns within its bound even if send() ignores interrupt", "[sdk][lifecycle]") {
  TempDir dir;
  auto stubborn = std::make_shared<BlockingTransport>(/*honour_interrupt=*/false);
  Options o = sdk_test::spool_options(dir);
  o.transport_factory = sdk_test::shared_transport(stubborn);
  Client client(o);
  {
    Session s(session_on(client, "stubborn"));
    s.user_message("never returns on its own");
    REQUIRE(stubborn->wait_for_send(milliseconds(5000)));
    s.metric("behind", 1);
  }
  auto start = steady_clock::now();
  CHECK_FALSE(client.shutdown(milliseconds(300)));
  CHECK(seconds_since(start) < 2.0);
  start = steady_clock::now();
  CHECK_FALSE(client.shutdown(milliseconds(300)));  // a later call reports the first one's result, at once
  CHECK(seconds_since(start) < 0.2);
  stubborn->release();  // let the abandoned worker finish
  CHECK(stubborn->wait_until_returned(milliseconds(5000)));
  CHECK(sdk_test::eventually([&] { return client.stats().queue_depth == 0; }, seconds(5)));
  CHECK(sdk_test::accounted(client.stats()));
}
