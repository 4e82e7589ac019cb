// The spool size cap: pruning counts every event it removes and never deletes a live session's
// file, a locked file or the dead letter.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/log_sink.hpp"
#include "transport/spool.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using namespace promptetheus::detail;
namespace fs = std::filesystem;

namespace {

using sdk_test::TempDir;

// Collects warnings instead of printing them; restores the default sink when done.
struct CapturedLog {
  std::mutex mutex;
  std::vector<std::string> lines;
  CapturedLog() {
    set_log_handler(
        [this](Level, std::string_view m) {
          std::lock_guard<std::mutex> lock(mutex);
          lines.emplace_back(m);
        },
        Level::warn);
  }
  ~CapturedLog() { set_log_handler(nullptr, Level::warn); }
  std::size_t count_containing(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mutex);
    std::size_t n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
};

EncodedEvent event(const std::string& sid, std::uint64_t seq) {
  EncodedEvent e;
  e.session_id = sid;
  e.seq = seq;
  e.json = R"({"idempotency_key":")" + sid + ":00000000:" + std::to_string(seq) +
           R"(","payload":{"text":"some words of padding"},"seq":)" + std::to_string(seq) +
           R"(,"session_id":")" + sid + R"(","timestamp":"2026-01-01T00:00:00.000000Z","type":"metric"})";
  return e;
}

std::vector<EncodedEvent> events(const std::string& sid, std::uint64_t first, std::size_t n) {
  std::vector<EncodedEvent> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(event(sid, first + i));
  return out;
}

std::uint64_t lines_in(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint64_t n = 0;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) n += buf[i] == '\n';
  }
  return n;
}

// Lines of every top-level `*.jsonl` (the pending files; not the dead letter).
std::uint64_t lines_on_disk(const fs::path& dir) {
  std::uint64_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".jsonl") n += lines_in(e.path());
  }
  return n;
}

std::uint64_t bytes_on_disk(const fs::path& dir) {
  std::uint64_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// Backdates a file so that it is the oldest in the spool.
void make_old(const fs::path& file, int seconds_ago = 3600) {
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::seconds(seconds_ago));
}

constexpr std::uint64_t kCap = 4096;

}  // namespace

TEST_CASE("Pruning counts every event it removes: lines on disk plus pruned equals appended", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  std::uint64_t appended = 0;
  for (int s = 0; s < 40; ++s) {
    std::string sid = "session-" + std::to_string(s);
    for (int batch = 0; batch < 5; ++batch) {
      auto evs = events(sid, batch * 10, 10);
      REQUIRE(spool.append(sid, evs, /*ends_session=*/batch == 4));
      appended += evs.size();
    }
  }
  CHECK(appended == 2000);
  CHECK(spool.pruned_events() > 0);
  CHECK(lines_on_disk(tmp.path) + spool.pruned_events() == appended);
  // Every session ended, so the spool is back under its cap.
  CHECK(bytes_on_disk(tmp.path) <= kCap);
  CHECK(log.count_containing("pruned") > 0);
}

TEST_CASE("Pruned events are counted across copies of a Spool and across threads", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  constexpr int kThreads = 4;
  constexpr int kSessions = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([copy = spool, t]() mutable {
      for (int s = 0; s < kSessions; ++s) {
        std::string sid = "t" + std::to_string(t) + "-s" + std::to_string(s);
        for (int batch = 0; batch < 3; ++batch) copy.append(sid, events(sid, batch * 7, 7), batch == 2);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::uint64_t appended = kThreads * kSessions * 3 * 7;
  CHECK(spool.pruned_events() > 0);
  CHECK(lines_on_disk(tmp.path) + spool.pruned_events() == appended);
}

TEST_CASE("A live session's file survives pruning even when it is the oldest", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  REQUIRE(spool.append("live", events("live", 0, 30)));  // 30 lines, over the cap by itself
  REQUIRE(spool.is_live("live"));
  const fs::path live_file = spool.pending_path("live");
  make_old(live_file);
  std::uint64_t appended = 30;
  for (int s = 0; s < 20; ++s) {
    std::string sid = "ended-" + std::to_string(s);
    REQUIRE(spool.append(sid, events(sid, 0, 10), true));
    appended += 10;
  }
  spool.prune();
  REQUIRE(fs::exists(live_file));
  CHECK(lines_in(live_file) == 30);
  CHECK(spool.pruned_events() == appended - 30);
  CHECK(lines_on_disk(tmp.path) == 30);
  // The cap cannot be met while the live session holds more than it: one warning says so.
  spool.prune();
  spool.prune();
  CHECK(log.count_containing("cannot be met") == 1);
  CHECK(lines_on_disk(tmp.path) + spool.pruned_events() == appended);
}

TEST_CASE("A session's file can be pruned once it ended or was released", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  REQUIRE(spool.append("a", events("a", 0, 5)));
  REQUIRE(spool.append("b", events("b", 0, 5)));
  make_old(spool.pending_path("a"), 7200);
  make_old(spool.pending_path("b"), 3600);
  REQUIRE(spool.append("filler", events("filler", 0, 20), true));  // over the cap: prunes
  CHECK(fs::exists(spool.pending_path("a")));
  CHECK(fs::exists(spool.pending_path("b")));
  CHECK(spool.pruned_events() == 20);  // only the ended filler could go

  // `a` ends through its last append; `b` is released explicitly.
  REQUIRE(spool.append("a", events("a", 5, 1), /*ends_session=*/true));
  CHECK_FALSE(spool.is_live("a"));
  spool.release("b");
  CHECK_FALSE(spool.is_live("b"));
  make_old(spool.pending_path("a"), 7200);
  REQUIRE(spool.append("filler2", events("filler2", 0, 20), true));  // over the cap: prunes
  CHECK_FALSE(fs::exists(spool.pending_path("a")));  // the oldest goes first
  CHECK(spool.pruned_events() >= 20 + 6);
  CHECK(lines_on_disk(tmp.path) + spool.pruned_events() == 5 + 5 + 20 + 1 + 20);
}

TEST_CASE("Ending a session with no further events releases it", "[spool]") {
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  REQUIRE(spool.append("s", events("s", 0, 2)));
  CHECK(spool.is_live("s"));
  REQUIRE(spool.append("s", std::vector<EncodedEvent>{}, true));
  CHECK_FALSE(spool.is_live("s"));
  spool.release("never-seen");  // harmless
  CHECK_FALSE(spool.is_live("never-seen"));
}

TEST_CASE("Two session ids with the same file name keep it live until both ended", "[spool]") {
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  REQUIRE(spool.pending_path("x/y") == spool.pending_path("x:y"));
  REQUIRE(spool.append("x/y", events("x/y", 0, 1)));
  REQUIRE(spool.append("x:y", events("x:y", 0, 1)));
  spool.release("x/y");
  CHECK(spool.is_live("x:y"));
  spool.release("x:y");
  CHECK_FALSE(spool.is_live("x:y"));
}

TEST_CASE("A file locked with flock is not pruned", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  REQUIRE(spool.append("locked", events("locked", 0, 10), true));
  const std::string path = spool.pending_path("locked");
  make_old(path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  REQUIRE(spool.append("other", events("other", 0, 20), true));  // over the cap: prunes
  CHECK(fs::exists(path));
  CHECK(lines_in(path) == 10);
  CHECK_FALSE(fs::exists(spool.pending_path("other")));  // the unlocked file went instead
  CHECK(spool.pruned_events() == 20);
  ::close(fd);
  REQUIRE(spool.append("third", events("third", 0, 20), true));  // over the cap again
  CHECK_FALSE(fs::exists(path));
  CHECK(fs::exists(spool.pending_path("third")));
  CHECK(spool.pruned_events() == 30);
  CHECK(lines_on_disk(tmp.path) + spool.pruned_events() == 50);
}

TEST_CASE("Dead-letter files count toward the cap but are never pruned", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  std::vector<EncodedEvent> rejected_events = events("dl", 0, 30);
  std::vector<std::pair<const EncodedEvent*, std::string>> rejected;
  for (const auto& e : rejected_events) rejected.emplace_back(&e, "invalid");
  REQUIRE(spool.dead_letter("dl", rejected));
  const fs::path dead = fs::path(spool.dead_letter_dir()) / "dl.jsonl";
  make_old(dead, 9000);
  REQUIRE(spool.append("p", events("p", 0, 3), true));
  spool.prune();
  CHECK(fs::exists(dead));
  CHECK(lines_in(dead) == 30);
  CHECK_FALSE(fs::exists(spool.pending_path("p")));  // the dead letter alone is over the cap
  CHECK(spool.pruned_events() == 3);
}

TEST_CASE("Dead-lettered artifacts and OTLP requests count toward the cap too and are never pruned", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  // What the HTTP transport and the OTLP exporter keep when a server refuses them for good.
  const fs::path artifact_dir = fs::path(spool.dead_letter_dir()) / "artifacts" / "s" / "artifact_1";
  const fs::path otlp_dir = fs::path(spool.dead_letter_dir()) / "otlp";
  fs::create_directories(artifact_dir);
  fs::create_directories(otlp_dir);
  std::ofstream(artifact_dir / "shot.png", std::ios::binary) << std::string(3 * kCap / 4, 'p');
  std::ofstream(artifact_dir / "reason.json") << R"({"reason":"http_413"})";
  std::ofstream(otlp_dir / "r1.json", std::ios::binary) << std::string(kCap / 4, 'o');
  std::ofstream(otlp_dir / "r1.json.reason") << "http_400";
  // The ended session's file alone is well under the cap; with the dead letter the spool is over
  // it (the append that ends the session prunes already).
  const std::vector<EncodedEvent> pending = events("p", 0, 3);
  std::uint64_t pending_bytes = 0;
  for (const EncodedEvent& e : pending) pending_bytes += e.json.size() + 1;
  REQUIRE(pending_bytes < kCap / 2);
  REQUIRE(spool.append("p", pending, true));
  spool.prune();
  CHECK_FALSE(fs::exists(spool.pending_path("p")));
  CHECK(spool.pruned_events() == 3);
  CHECK(fs::file_size(artifact_dir / "shot.png") == 3 * kCap / 4);
  CHECK(fs::exists(artifact_dir / "reason.json"));
  CHECK(fs::file_size(otlp_dir / "r1.json") == kCap / 4);
  CHECK(fs::exists(otlp_dir / "r1.json.reason"));
}

TEST_CASE("A replayer's abandoned claim of a live session is not pruned", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  Spool spool(tmp.path.string(), kCap);
  REQUIRE(spool.append("claimed", events("claimed", 0, 10)));
  const fs::path claim = tmp.path / "claimed.replaying-1-2-3.jsonl";
  fs::rename(spool.pending_path("claimed"), claim);
  make_old(claim);
  REQUIRE(spool.append("other", events("other", 0, 20), true));  // over the cap: prunes
  CHECK(fs::exists(claim));
  CHECK(spool.pruned_events() == 20);
  spool.release("claimed");
  REQUIRE(spool.append("third", events("third", 0, 20), true));  // over the cap again
  CHECK_FALSE(fs::exists(claim));
  CHECK(spool.pruned_events() == 30);
}

TEST_CASE("The outbox counts toward the cap with the recorded runs, oldest file first", "[spool]") {
  CapturedLog log;
  TempDir tmp;
  // A recorded run (spool mode) from long ago, then an HTTP backlog that outgrows the cap.
  Spool recorded(tmp.path.string(), 0);
  REQUIRE(recorded.append("recorded", events("recorded", 0, 5), /*ends_session=*/true));
  make_old(tmp.path / "recorded.jsonl");
  Spool outbox(tmp.path.string(), kCap, PendingPlace::outbox);
  CHECK(outbox.pending_path("x") == (tmp.path / "outbox" / "x.jsonl").string());
  std::uint64_t appended = 0;
  for (int s = 0; s < 20; ++s) {
    const std::string sid = "backlog-" + std::to_string(s);
    auto evs = events(sid, 0, 10);
    REQUIRE(outbox.append(sid, evs, /*ends_session=*/true));
    appended += evs.size();
  }
  CHECK(bytes_on_disk(tmp.path) <= kCap);
  CHECK_FALSE(fs::exists(tmp.path / "recorded.jsonl"));  // the oldest file went first
  // Every event is on disk or counted as pruned: the backlog's and the recorded run's five.
  CHECK(lines_on_disk(tmp.path / "outbox") + outbox.pruned_events() == appended + 5);
}
