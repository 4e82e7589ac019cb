// The whole path: Session helpers -> pipeline -> HTTP transport -> `promptetheus dev` (in-process on
// an ephemeral loopback port). Each scenario checks the accounting: every event a helper accepted
// is stored on the server, dead-lettered, still spooled, or counted as dropped.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <promptetheus/promptetheus.hpp>

#include "dev_server_fixture.hpp"

namespace pt = promptetheus;
using promptetheus::testing::DevServerFixture;

namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("promptetheus-e2e-" + name + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::remove_all(dir);
  return dir;
}

pt::Options http_options(const std::string& url, const std::filesystem::path& spool) {
  pt::Options options;
  options.transport = pt::TransportMode::automatic;  // an API key is set: HTTP
  options.api_url = url;
  options.api_key = "pt_dev_key";
  options.spool_dir = (spool / "spool").string();
  options.artifact_dir = (spool / "artifacts").string();
  options.flush_interval = std::chrono::milliseconds(50);
  options.flush_at_exit = false;
  return options;
}

// Lines of the *.jsonl files directly in `dir` (claimed or not).
std::size_t lines_in(const std::filesystem::path& dir) {
  std::size_t lines = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) lines += line.empty() ? 0 : 1;
  }
  return lines;
}

// Lines still pending in the spool: its recorded runs and the outbox HTTP delivery retries.
std::size_t spooled_lines(const std::filesystem::path& dir) { return lines_in(dir) + lines_in(dir / "outbox"); }

// Records one session with a representative set of helpers: 9 events (session_started,
// user_message, span_start, tool_call, tool_result, span_end, llm_call, goal_check, session_end).
void record_session(pt::Client& client, const std::string& id) {
  pt::SessionOptions options;
  options.agent = "calendar-agent";
  options.user_goal = "Book Tuesday at 2pm";
  options.session_id = id;
  options.tags = {"e2e"};
  options.metadata = {{"run", 7}};
  options.client = &client;
  pt::Session session(options);
  session.user_message("Book Tuesday at 2pm");
  {
    pt::Span span(session, "search");
    pt::ToolCall call(session, "calendar.search", {{"day", "Tuesday"}});
    call.set_result({{"slots", {"2pm", "3pm"}}});
  }
  session.llm_call("gpt-4o-mini", {1200, 300, 850});
  session.goal_check(false, {"booked Wednesday"});
  session.end("failed", "agent selected the wrong day");
}

// A loopback socket that accepts connections (the kernel completes the handshake) and never
// answers a request.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
          ::listen(fd_, 64) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  bool ok() const { return ok_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
};

}  // namespace

TEST_CASE("sessions recorded with transport=auto and an API key are stored on the dev server once, in order",
          "[e2e][http]") {
  DevServerFixture server;
  auto dir = fresh_dir("happy");
  pt::Client client(http_options(server.base_url(), dir));
  REQUIRE(client.status().ok());
  REQUIRE(client.stats().transport == "http");

  const std::string hostile = "../x?y#";
  record_session(client, "e2e-happy");
  record_session(client, hostile);
  REQUIRE(client.flush(std::chrono::seconds(20)));
  REQUIRE(client.shutdown(std::chrono::seconds(10)));

  for (const std::string& id : {std::string("e2e-happy"), hostile}) {
    auto trace = server.trace(id);
    REQUIRE(trace);  // created from session_started before the events
    auto events = server.events(id);
    REQUIRE(events);
    REQUIRE(events->size() == 9);
    for (std::size_t i = 0; i < events->size(); ++i) {
      CHECK((*events)[i]["seq"] == i);
      CHECK((*events)[i]["session_id"] == id);
    }
    CHECK(events->front()["payload"]["name"] == "session_started");
    CHECK(events->back()["type"] == "session_end");
  }
  auto stats = client.stats();
  CHECK(stats.enqueued == 18);
  CHECK(stats.delivered == 18);
  CHECK(stats.dead_lettered == 0);
  CHECK(stats.dropped_total() == 0);
  CHECK(spooled_lines(dir / "spool") == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("switching from spool mode to HTTP keeps the sessions recorded in spool mode", "[e2e][http]") {
  DevServerFixture server;
  auto dir = fresh_dir("switch");
  {
    pt::Options spool_mode = http_options(server.base_url(), dir);
    spool_mode.transport = pt::TransportMode::spool;
    pt::Client client(spool_mode);
    record_session(client, "recorded-offline");
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
  }
  REQUIRE(lines_in(dir / "spool") == 9);
  {
    pt::Client client(http_options(server.base_url(), dir));
    REQUIRE(client.stats().transport == "http");
    record_session(client, "e2e-online");
    REQUIRE(client.flush(std::chrono::seconds(20)));
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
  }
  auto online = server.events("e2e-online");
  REQUIRE(online);
  CHECK(online->size() == 9);
  // The recorded run is still on disk, whole, and was not sent behind the user's back.
  CHECK(lines_in(dir / "spool") == 9);
  CHECK(std::filesystem::exists(dir / "spool" / "recorded-offline.jsonl"));
  CHECK_FALSE(server.trace("recorded-offline"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("with the server down at start, events wait in the spool and reach the server once it is up",
          "[e2e][http]") {
  DevServerFixture server;
  const std::string url = server.base_url();
  server.stop();  // connections to the port are now refused
  auto dir = fresh_dir("down");
  auto options = http_options(url, dir);
  options.max_retries = 1;
  pt::Client client(options);

  record_session(client, "e2e-down");
  REQUIRE(client.flush(std::chrono::seconds(20)));
  // Nothing was lost: every event is in the spool.
  CHECK(client.stats().spooled == 9);
  CHECK(lines_in(dir / "spool" / "outbox") == 9);  // the retry backlog

  server.restart();
  // The worker replays the spool when its backoff expires; allow generously for it.
  std::optional<std::vector<nlohmann::json>> stored;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    stored = server.events("e2e-down");
    if (stored && stored->size() == 9) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(stored);
  CHECK(stored->size() == 9);
  std::set<std::int64_t> seqs;
  for (const auto& e : *stored) seqs.insert(e["seq"].get<std::int64_t>());
  CHECK(seqs.size() == 9);
  REQUIRE(client.shutdown(std::chrono::seconds(10)));
  CHECK(spooled_lines(dir / "spool") == 0);
  CHECK(client.stats().dead_lettered == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("shutdown returns within its bound when the server never answers, and the events are spooled",
          "[e2e][http]") {
  SilentServer silent;
  REQUIRE(silent.ok());
  const std::string url = silent.url();

  auto dir = fresh_dir("hang");
  pt::Client client(http_options(url, dir));
  record_session(client, "e2e-hang");
  (void)client.flush(std::chrono::milliseconds(300));  // the request is now in flight, unanswered
  auto start = std::chrono::steady_clock::now();
  (void)client.shutdown(std::chrono::milliseconds(500));
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(3));  // generous margin over the 500 ms bound

  auto stats = client.stats();
  CHECK(stats.delivered == 0);
  CHECK(stats.spooled + stats.dropped_total() == 9);
  CHECK(spooled_lines(dir / "spool") == stats.spooled);
  std::filesystem::remove_all(dir);
}

TEST_CASE("with a server that accepts and never answers, every event is on disk within flush_interval + 1 s",
          "[e2e][http]") {
  SilentServer silent;
  REQUIRE(silent.ok());
  const std::string url = silent.url();

  auto dir = fresh_dir("silent");
  pt::Options options = http_options(url, dir);
  options.flush_interval = std::chrono::milliseconds(200);
  options.http_timeout = std::chrono::seconds(30);  // the server's silence must not hold events this long
  pt::Client client(options);
  pt::SessionOptions session_options;
  session_options.session_id = "e2e-silent";
  session_options.client = &client;
  pt::Session session(session_options);

  // Record one event every 25 ms for 3 s, noting when each was recorded; watch the spool file and
  // note when each seq first appears on disk.
  using Clock = std::chrono::steady_clock;
  constexpr int kEvents = 120;
  std::vector<Clock::time_point> recorded(kEvents + 1);
  std::vector<Clock::time_point> on_disk(kEvents + 1);
  std::vector<bool> seen(kEvents + 1, false);
  const auto file = dir / "spool" / "outbox" / "e2e-silent.jsonl";
  auto watch = [&] {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      auto event = nlohmann::json::parse(line, nullptr, false);
      if (!event.is_object()) continue;
      auto seq = event.value("seq", 0);
      if (seq >= 1 && seq <= kEvents && !seen[seq]) {
        seen[seq] = true;
        on_disk[seq] = Clock::now();
      }
    }
  };
  for (int i = 1; i <= kEvents; ++i) {
    recorded[i] = Clock::now();
    REQUIRE(session.metric("step", i));
    auto until = Clock::now() + std::chrono::milliseconds(25);
    while (Clock::now() < until) {
      watch();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  auto until = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < until && std::count(seen.begin() + 1, seen.end(), true) < kEvents) {
    watch();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Clock::duration worst{};
  int missing = 0;
  for (int i = 1; i <= kEvents; ++i) {
    if (!seen[i]) {
      ++missing;
      continue;
    }
    worst = std::max(worst, on_disk[i] - recorded[i]);
  }
  const auto worst_ms = std::chrono::duration_cast<std::chrono::milliseconds>(worst).count();
  INFO("slowest event reached the disk after " << worst_ms << " ms; " << missing << " never did");
  CHECK(missing == 0);
  // The bound is flush_interval + 1 s; the margin covers the watcher's polling and a loaded machine.
  CHECK(worst_ms <= 200 + 1000 + 500);
  (void)client.shutdown(std::chrono::milliseconds(500));
  std::filesystem::remove_all(dir);
}
