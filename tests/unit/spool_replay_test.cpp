// Spool replay: claims, batching, partial progress, and concurrent replayers (contract §4.7 with
// the flock claims of DESIGN.md §2).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "transport/spool_replay.hpp"

using namespace promptetheus;
using namespace promptetheus::detail;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/prom-replay-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string line(const std::string& sid, int seq) {
  return R"({"idempotency_key":")" + sid + ":00000000:" + std::to_string(seq) +
         R"(","payload":{},"seq":)" + std::to_string(seq) + R"(,"session_id":")" + sid +
         R"(","timestamp":"2026-01-01T00:00:00.000000Z","type":"metric"})";
}

void write_session(const fs::path& file, const std::string& sid, int n, int first = 0) {
  std::ofstream out(file, std::ios::app);
  for (int i = first; i < first + n; ++i) out << line(sid, i) << "\n";
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

bool has_claim_files(const fs::path& dir) {
  for (auto& n : names_in(dir)) {
    if (n.find(".replaying-") != std::string::npos || n.find(".tmp-") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("replay: every event goes out once, in batches, and the file is deleted", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "sess_a.jsonl", "sess_a", 120);
  write_session(dir.path / "sess_b.jsonl", "sess_b", 3);
  std::vector<std::pair<std::string, std::size_t>> calls;
  std::vector<std::uint64_t> seqs_a;
  ReplayOptions opts;
  opts.batch_size = 50;
  auto report = replay_spool(dir.path, opts, [&](const std::string& sid, std::vector<EncodedEvent>& batch) {
    calls.emplace_back(sid, batch.size());
    for (auto& e : batch) {
      CHECK(e.session_id == sid);
      if (sid == "sess_a") seqs_a.push_back(e.seq);
    }
    return ReplayBatchResult{};
  });
  REQUIRE(calls.size() == 4);
  CHECK(calls[0] == std::make_pair(std::string("sess_a"), std::size_t(50)));
  CHECK(calls[1].second == 50);
  CHECK(calls[2].second == 20);
  CHECK(calls[3] == std::make_pair(std::string("sess_b"), std::size_t(3)));
  for (std::size_t i = 0; i < seqs_a.size(); ++i) CHECK(seqs_a[i] == i);
  CHECK(report.events_sent == 123);
  CHECK(report.files_completed == 2);
  CHECK(names_in(dir.path).empty());
}

TEST_CASE("replay: lines that are not events go to the dead letter with their reason and bytes", "[spool][replay]") {
  TempDir dir;
  {
    std::ofstream out(dir.path / "from_name.jsonl");
    out << "\n" << R"({"seq":1,"type":"metric"})" << "\n{broken\n[1,2]\n\xff{\"bad\n" << line("real", 2) << "\n";
  }
  std::vector<std::string> sids;
  auto report = replay_spool(dir.path, {}, [&](const std::string& sid, std::vector<EncodedEvent>& batch) {
    for (std::size_t i = 0; i < batch.size(); ++i) sids.push_back(sid);
    return ReplayBatchResult{};
  });
  CHECK(report.malformed_lines == 3);
  CHECK(sids == std::vector<std::string>{"from_name", "real"});
  // The spool file is done with; what could not be sent is kept, never deleted.
  CHECK(names_in(dir.path) == std::vector<std::string>{"dead-letter"});
  const auto dead = read_lines(dir.path / "dead-letter" / "from_name.jsonl");
  REQUIRE(dead.size() == 3);
  const auto first = nlohmann::json::parse(dead[0]);
  CHECK(first["_reject_reason"] == "malformed spool line: not a JSON object");
  CHECK(first["_source_file"] == "from_name.jsonl");
  CHECK(first["_source_line"] == 3);
  CHECK(first["_raw"] == "{broken");
  CHECK(nlohmann::json::parse(dead[1])["_raw"] == "[1,2]");
  CHECK(nlohmann::json::parse(dead[1])["_source_line"] == 4);
  const auto binary = nlohmann::json::parse(dead[2]);
  CHECK_FALSE(binary.contains("_raw"));
  CHECK(binary["_raw_base64"] == "/3siYmFk");  // the bytes ff 7b 22 62 61 64, exactly
}

TEST_CASE("replay: a line that cannot be moved to the dead letter stays in the spool", "[spool][replay]") {
  TempDir dir;
  {
    std::ofstream out(dir.path / "s.jsonl");
    out << line("s", 1) << "\n{broken\n" << line("s", 2) << "\n";
    std::ofstream blocker(dir.path / "not-a-dir");
  }
  ReplayOptions opts;
  opts.dead_letter_dir = (dir.path / "not-a-dir" / "dead").string();  // cannot be created
  std::size_t sent = 0;
  auto report = replay_spool(dir.path, opts, [&](const std::string&, std::vector<EncodedEvent>& batch) {
    sent += batch.size();
    return ReplayBatchResult{};
  });
  CHECK(sent == 2);
  CHECK(report.malformed_lines == 1);
  CHECK(read_lines(dir.path / "s.jsonl") == std::vector<std::string>{"{broken"});
}

TEST_CASE("replay: a transient failure releases the claim and keeps every unsent event", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "s.jsonl", "s", 120);
  int call = 0;
  ReplayOptions opts;
  opts.batch_size = 50;
  auto report = replay_spool(dir.path, opts, [&](const std::string&, std::vector<EncodedEvent>&) {
    ReplayBatchResult r;
    r.stop = ++call == 2;  // first batch delivered, second fails
    return r;
  });
  CHECK(report.stopped);
  CHECK(report.events_sent == 50);
  CHECK(report.events_kept == 70);
  CHECK(names_in(dir.path) == std::vector<std::string>{"s.jsonl"});
  auto lines = read_lines(dir.path / "s.jsonl");
  REQUIRE(lines.size() == 70);
  CHECK(lines.front() == line("s", 50));
  CHECK(lines.back() == line("s", 119));
}

TEST_CASE("replay: unaccounted events of a batch stay, the rest of the file still goes", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "s.jsonl", "s", 4);
  ReplayOptions opts;
  opts.batch_size = 2;
  auto report = replay_spool(dir.path, opts, [&](const std::string&, std::vector<EncodedEvent>& batch) {
    ReplayBatchResult r;
    if (batch[0].seq == 0) r.keep = {1};  // seq 1 unaccounted
    return r;
  });
  CHECK_FALSE(report.stopped);
  CHECK(report.events_sent == 4);
  CHECK(read_lines(dir.path / "s.jsonl") == std::vector<std::string>{line("s", 1)});
}

TEST_CASE("replay: leftovers join a pending file written meanwhile", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "s.jsonl", "s", 3);
  auto report = replay_spool(dir.path, {}, [&](const std::string&, std::vector<EncodedEvent>&) {
    // A writer spools new events for the session while its claimed file is being sent.
    write_session(dir.path / "s.jsonl", "s", 2, 3);
    ReplayBatchResult r;
    r.stop = true;
    return r;
  });
  CHECK(report.stopped);
  CHECK(names_in(dir.path) == std::vector<std::string>{"s.jsonl"});
  auto lines = read_lines(dir.path / "s.jsonl");
  CHECK(lines.size() == 5);
  std::set<std::string> unique(lines.begin(), lines.end());
  CHECK(unique.size() == 5);
}

TEST_CASE("replay: a file locked by another replayer is skipped", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "s.jsonl", "s", 2);
  int fd = ::open((dir.path / "s.jsonl").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  int calls = 0;
  auto report = replay_spool(dir.path, {}, [&](const std::string&, std::vector<EncodedEvent>&) {
    ++calls;
    return ReplayBatchResult{};
  });
  CHECK(calls == 0);
  CHECK(report.files_busy == 1);
  ::close(fd);
  report = replay_spool(dir.path, {}, [&](const std::string&, std::vector<EncodedEvent>&) {
    ++calls;
    return ReplayBatchResult{};
  });
  CHECK(calls == 1);
  CHECK(names_in(dir.path).empty());
}

TEST_CASE("replay: an abandoned claim (no lock held) is taken over", "[spool][replay]") {
  TempDir dir;
  // As left by a replayer that died, or by the reference SDK.
  write_session(dir.path / "sess_down.replaying-14806-140325435127488-260238938729.jsonl", "sess_down", 2);
  std::vector<std::string> sids;
  auto report = replay_spool(dir.path, {}, [&](const std::string& sid, std::vector<EncodedEvent>&) {
    sids.push_back(sid);
    return ReplayBatchResult{};
  });
  CHECK(sids == std::vector<std::string>{"sess_down"});
  CHECK(report.files_completed == 1);
  CHECK(names_in(dir.path).empty());
  CHECK(pending_name_of("sess_down.replaying-1-2-3.jsonl") == "sess_down.jsonl");
  CHECK(pending_name_of("plain.jsonl") == "plain.jsonl");
}

TEST_CASE("replay: a sink that throws releases the claim", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "s.jsonl", "s", 3);
  auto report = replay_spool(dir.path, {}, [&](const std::string&, std::vector<EncodedEvent>&) -> ReplayBatchResult {
    throw std::runtime_error("boom");
  });
  CHECK(report.stopped);
  CHECK(names_in(dir.path) == std::vector<std::string>{"s.jsonl"});
  CHECK(read_lines(dir.path / "s.jsonl").size() == 3);
}

TEST_CASE("replay: deadline and batch budget stop a pass early without losing events", "[spool][replay]") {
  TempDir dir;
  write_session(dir.path / "a.jsonl", "a", 10);
  write_session(dir.path / "b.jsonl", "b", 10);
  ReplayOptions opts;
  opts.batch_size = 4;
  opts.max_batches = 2;
  std::uint64_t sent = 0;
  auto sink = [&](const std::string&, std::vector<EncodedEvent>& batch) {
    sent += batch.size();
    return ReplayBatchResult{};
  };
  auto report = replay_spool(dir.path, opts, sink);
  CHECK(report.out_of_budget);
  CHECK(sent == 8);
  CHECK(read_lines(dir.path / "a.jsonl").size() == 2);
  CHECK(read_lines(dir.path / "b.jsonl").size() == 10);
  opts.max_batches = 0;
  opts.deadline = Deadline::after(std::chrono::seconds(0));
  report = replay_spool(dir.path, opts, sink);
  CHECK(report.out_of_budget);
  CHECK(sent == 8);
  opts.deadline = Deadline::none();
  replay_spool(dir.path, opts, sink);
  CHECK(sent == 20);
  CHECK(names_in(dir.path).empty());
}

TEST_CASE("replay: two concurrent replayers never double-send and leave no claims", "[spool][replay]") {
  TempDir dir;
  constexpr int kFiles = 40, kPerFile = 25;
  for (int f = 0; f < kFiles; ++f) {
    std::string sid = "sess" + std::to_string(f);
    write_session(dir.path / (sid + ".jsonl"), sid, kPerFile);
  }
  std::mutex mu;
  std::map<std::string, int> sent;  // idempotency line -> times sent
  std::atomic<int> failures_left{6};
  auto sink = [&](const std::string&, std::vector<EncodedEvent>& batch) {
    ReplayBatchResult r;
    // A few transient failures along the way, as a flaky server would give.
    if (failures_left.fetch_sub(1) > 0 && batch[0].seq % 2 == 0) {
      r.stop = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::lock_guard<std::mutex> lock(mu);
    for (auto& e : batch) ++sent[e.json];
    return r;
  };
  ReplayOptions opts;
  opts.batch_size = 10;
  for (int round = 0; round < 20; ++round) {
    std::thread a([&] { replay_spool(dir.path, opts, sink); });
    std::thread b([&] { replay_spool(dir.path, opts, sink); });
    a.join();
    b.join();
    CHECK_FALSE(has_claim_files(dir.path));
    if (names_in(dir.path).empty()) break;
  }
  CHECK(names_in(dir.path).empty());
  REQUIRE(sent.size() == static_cast<std::size_t>(kFiles * kPerFile));
  for (auto& [json, times] : sent) {
    INFO(json);
    CHECK(times == 1);
  }
}

TEST_CASE("replay streams a big file: an untouched file is put back byte for byte, a budget keeps the exact rest",
          "[spool][replay]") {
  TempDir dir;
  constexpr int kEvents = 60000;  // ~9 MB: read in 64 KiB chunks, never whole
  write_session(dir.path / "big.jsonl", "big", kEvents);
  {  // a file with no newline after its last line
    std::ofstream out(dir.path / "big.jsonl", std::ios::app);
    out << line("big", kEvents);
  }
  std::ifstream in(dir.path / "big.jsonl", std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  ReplayOptions opts;
  opts.batch_size = 100;
  auto failing = replay_spool(dir.path, opts, [](const std::string&, std::vector<EncodedEvent>&) {
    ReplayBatchResult r;
    r.stop = true;  // the server is down: the first batch fails
    return r;
  });
  CHECK(failing.stopped);
  CHECK(failing.events_sent == 0);
  CHECK(failing.events_kept > 0);
  CHECK_FALSE(has_claim_files(dir.path));
  std::ifstream again(dir.path / "big.jsonl", std::ios::binary);
  CHECK(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()) == original);

  opts.max_batches = 3;  // the budget ends the pass after 300 events
  std::uint64_t delivered = 0;
  auto partial = replay_spool(dir.path, opts, [&](const std::string&, std::vector<EncodedEvent>& batch) {
    delivered += batch.size();
    return ReplayBatchResult{};
  });
  CHECK(partial.out_of_budget);
  CHECK(delivered == 300);
  CHECK(partial.events_kept == kEvents + 1 - 300);
  CHECK_FALSE(has_claim_files(dir.path));
  auto lines = read_lines(dir.path / "big.jsonl");
  REQUIRE(lines.size() == static_cast<std::size_t>(kEvents + 1 - 300));
  CHECK(lines.front() == line("big", 300));
  CHECK(lines.back() == line("big", kEvents));

  opts.max_batches = 0;
  std::uint64_t rest = 0;
  auto done = replay_spool(dir.path, opts, [&](const std::string&, std::vector<EncodedEvent>& batch) {
    rest += batch.size();
    return ReplayBatchResult{};
  });
  CHECK(rest == kEvents + 1 - 300);
  CHECK(done.files_completed == 1);
  CHECK(names_in(dir.path).empty());
}
