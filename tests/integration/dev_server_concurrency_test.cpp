// Concurrent posters against one dev server: no event lost, none stored twice, every seq conflict
// decided exactly once. Also the `dev` subcommand's lifecycle (start, serve, stop on SIGTERM).
#include <catch2/catch.hpp>

#include <csignal>
#include <pthread.h>

#include <atomic>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>

#include "dev/dev_command.hpp"
#include "dev_server_fixture.hpp"

using nlohmann::json;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::make_event;

namespace {

// Posts a batch; returns null when the request failed or did not answer 200. Makes no Catch
// assertion, so that poster threads can call it (Catch's assertions are not thread-safe).
json try_post_batch(httplib::Client& client, const std::string& trace, const json& events) {
  auto res = client.Post("/api/traces/" + trace + "/events",
                         {{"Authorization", "Bearer pt_dev_key"}},
                         json{{"events", events}}.dump(), "application/json");
  if (!res || res->status != 200) return nullptr;
  return json::parse(res->body, nullptr, /*allow_exceptions=*/false);
}

json post_batch(httplib::Client& client, const std::string& trace, const json& events) {
  json result = try_post_batch(client, trace, events);
  REQUIRE(result.is_object());
  return result;
}

}  // namespace

TEST_CASE("dev server: concurrent posters lose and duplicate nothing") {
  DevServerFixture server;
  REQUIRE(server.create_trace("shared") == 201);
  constexpr int kThreads = 4, kBatches = 40, kPerBatch = 25;
  std::atomic<long> accepted{0}, rejected{0}, failed_requests{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      auto client = server.client();
      for (int b = 0; b < kBatches; ++b) {
        json events = json::array();
        for (int i = 0; i < kPerBatch; ++i) {
          events.push_back(make_event("shared", (t * kBatches + b) * kPerBatch + i));
        }
        // Every batch is sent twice, as a retry after a lost response would.
        for (int copy = 0; copy < 2; ++copy) {
          json result = try_post_batch(client, "shared", events);
          if (!result.is_object()) {
            ++failed_requests;
            continue;
          }
          accepted += result["accepted"].get<long>();
          rejected += static_cast<long>(result["rejected"].size());
        }
      }
    });
  }
  for (auto& p : posters) p.join();

  constexpr long kUnique = long{kThreads} * kBatches * kPerBatch;
  REQUIRE(failed_requests == 0);
  CHECK(accepted == 2 * kUnique);  // duplicates count as accepted
  CHECK(rejected == 0);
  const auto events = server.events("shared").value();
  REQUIRE(events.size() == static_cast<std::size_t>(kUnique));
  for (std::size_t i = 0; i < events.size(); ++i) {
    REQUIRE(events[i]["seq"] == static_cast<std::int64_t>(i));
  }
}

TEST_CASE("dev server: racing posters of the same seqs with different keys conflict exactly once") {
  DevServerFixture server;
  REQUIRE(server.create_trace("race") == 201);
  constexpr int kSeqs = 400;
  std::atomic<long> accepted{0}, conflicts{0}, failed_requests{0}, other_reasons{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 2; ++t) {
    posters.emplace_back([&, t] {
      auto client = server.client();
      for (int start = 0; start < kSeqs; start += 20) {
        json events = json::array();
        for (int seq = start; seq < start + 20; ++seq) {
          events.push_back(make_event("race", seq, "writer" + std::to_string(t) + ":" + std::to_string(seq)));
        }
        json result = try_post_batch(client, "race", events);
        if (!result.is_object()) {
          ++failed_requests;
          continue;
        }
        accepted += result["accepted"].get<long>();
        for (const json& r : result["rejected"]) {
          if (r["reason"].get<std::string>().find("already recorded with a different idempotency_key") ==
              std::string::npos) {
            ++other_reasons;
          }
          ++conflicts;
        }
      }
    });
  }
  for (auto& p : posters) p.join();
  REQUIRE(failed_requests == 0);
  CHECK(other_reasons == 0);
  CHECK(accepted == kSeqs);
  CHECK(conflicts == kSeqs);
  const auto events = server.events("race").value();
  REQUIRE(events.size() == static_cast<std::size_t>(kSeqs));
  std::set<std::int64_t> seqs;
  for (const json& e : events) seqs.insert(e["seq"].get<std::int64_t>());
  CHECK(seqs.size() == static_cast<std::size_t>(kSeqs));
}

TEST_CASE("dev server: restart on the same port keeps the stored data") {
  DevServerFixture server;
  REQUIRE(server.create_trace("kept") == 201);
  auto client = server.client();
  post_batch(client, "kept", json::array({make_event("kept", 0)}));
  server.stop();
  auto down = server.client().Get("/health");
  CHECK_FALSE(down);  // connection refused while stopped
  server.restart();
  CHECK(server.events("kept").value().size() == 1);
}

TEST_CASE("promptetheus dev: serves until SIGTERM, then exits cleanly") {
  // A free port: bind a socket to port 0, read the port, release it.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    ::close(fd);
  }
  REQUIRE(port > 0);
  char pattern[] = "/tmp/promptetheus-dev-cmd-XXXXXX";
  REQUIRE(mkdtemp(pattern));
  const std::string data_dir = pattern;

  // SIGTERM is blocked in every thread of this process (threads inherit the mask), so the
  // command's sigwait receives it instead of the default action killing the test run.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &term, &previous);

  std::atomic<bool> finished{false};
  std::string error;
  int exit_code = -1;
  std::thread command([&] {
    CLI::App app("promptetheus");
    promptetheus::devserver::add_dev_command(app, exit_code);
    try {
      app.parse(std::vector<std::string>{data_dir, "--data-dir", std::to_string(port), "--port",
                                         "dev"});  // CLI11 takes the arguments in reverse order
    } catch (const std::exception& e) {
      error = e.what();
    }
    finished = true;
  });

  const auto health = [port] {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2);
    return client.Get("/health");
  };
  bool healthy = false;
  for (int i = 0; i < 200 && !healthy && !finished; ++i) {
    auto res = health();
    healthy = res && res->status == 200;
    if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  CHECK(healthy);
  CHECK(std::filesystem::exists(std::filesystem::path(data_dir) / "promptetheus.db"));
  kill(getpid(), SIGTERM);
  command.join();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  CHECK(finished);
  CHECK(error.empty());
  CHECK(exit_code == 0);
  CHECK_FALSE(health());
  std::filesystem::remove_all(data_dir);
}
