// The dev server under hostile or heavy load (RELIABILITY S4): slowloris connections must not
// starve other clients, hundreds of concurrent writers are all answered, oversized request heads
// are refused without being buffered, and stop() is prompt whatever the clients are doing.
// Timing bounds are generous; the measured figures are printed (docs/performance.md quotes them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dev_server_fixture.hpp"
#include "raw_connection.hpp"

using nlohmann::json;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::make_event;
using promptetheus::testing::raw_http;
using promptetheus::testing::RawConnection;
using Clock = std::chrono::steady_clock;

namespace {

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Like a slowloris client: sends the next byte of a request head that never ends on every
// connection, once a second, until stopped or after `max_rounds` rounds. A connection the server
// has closed is skipped.
class Trickler {
 public:
  Trickler(std::vector<RawConnection*> connections, int max_rounds)
      : connections_(std::move(connections)), max_rounds_(max_rounds), thread_([this] { run(); }) {}
  ~Trickler() { stop(); }

  /// Blocks until `rounds` rounds have been sent (or the trickler stopped).
  void wait_for_rounds(int rounds) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return rounds_ >= rounds || stopping_; });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    static const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    std::unique_lock<std::mutex> lock(mutex_);
    for (int round = 0; round < max_rounds_ && !stopping_; ++round) {
      const char byte = round < static_cast<int>(head.size()) ? head[round] : 'a';
      lock.unlock();
      for (RawConnection* c : connections_) c->send_all(std::string(1, byte));
      lock.lock();
      ++rounds_;
      changed_.notify_all();
      changed_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    }
    stopping_ = true;
    changed_.notify_all();
  }

  std::vector<RawConnection*> connections_;
  int max_rounds_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int rounds_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

std::vector<RawConnection*> pointers(const std::vector<std::unique_ptr<RawConnection>>& owned) {
  std::vector<RawConnection*> out;
  for (const auto& c : owned) out.push_back(c.get());
  return out;
}

// A field of /proc/self/status (VmRSS, VmHWM), in KiB.
long status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Resets VmHWM (the peak resident set) to the current resident set, so that the peak of what
// follows can be read (Linux 4.0+).
bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

json body_of(const std::string& response) {
  const auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return nullptr;
  return json::parse(response.substr(head_end + 4), nullptr, /*allow_exceptions=*/false);
}

bool has_header_line(const std::string& response, const std::string& line) {
  const std::string head = response.substr(0, response.find("\r\n\r\n")) + "\r\n";
  return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

// A GET /health whose head carries `fields` header fields "X-Field-<i>: <value>" after
// Connection: close.
std::string request_with_fields(std::size_t fields, const std::string& value = "v") {
  std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (std::size_t i = 0; i < fields; ++i) {
    request += "X-Field-" + std::to_string(i) + ": " + value + "\r\n";
  }
  return request + "\r\n";
}

}  // namespace

TEST_CASE("dev server hostile load: GET /health is answered while 50 slowloris connections trickle their heads") {
  DevServerFixture server;
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 50; ++i) slow.push_back(std::make_unique<RawConnection>(server.port()));
  Trickler trickler(pointers(slow), 60);
  trickler.wait_for_rounds(2);  // every connection has begun a head the server is now reading

  std::vector<double> latencies_ms;
  for (int i = 0; i < 5; ++i) {
    httplib::Client client("127.0.0.1", server.port());
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    const auto start = Clock::now();
    auto res = client.Get("/health");
    latencies_ms.push_back(milliseconds_since(start));
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  trickler.stop();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("measured: GET /health beside 50 slowloris connections: median %.2f ms, worst %.2f ms\n",
              latencies_ms[2], latencies_ms.back());
  CHECK(latencies_ms.back() < 2000.0);
}

TEST_CASE("dev server hostile load: 200 concurrent writers are all answered") {
  DevServerFixture server;
  REQUIRE(server.create_trace("writers") == 201);
  constexpr int kWriters = 200, kPosts = 6, kEvents = 3;
  std::atomic<int> answered{0}, failed{0};
  std::mutex error_mutex;
  std::string first_error;

  std::mutex gate_mutex;
  std::condition_variable gate;
  bool open = false;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      {
        std::unique_lock<std::mutex> lock(gate_mutex);
        gate.wait(lock, [&] { return open; });
      }
      httplib::Client client("127.0.0.1", server.port());
      client.set_keep_alive(true);
      client.set_connection_timeout(30);
      client.set_read_timeout(30);
      client.set_write_timeout(30);
      for (int p = 0; p < kPosts; ++p) {
        json events = json::array();
        for (int i = 0; i < kEvents; ++i) {
          events.push_back(make_event("writers", (w * kPosts + p) * kEvents + i));
        }
        auto res = client.Post("/api/traces/writers/events", {{"Authorization", "Bearer pt_dev_key"}},
                               json{{"events", events}}.dump(), "application/json");
        const json body = res ? json::parse(res->body, nullptr, false) : json();
        if (res && res->status == 200 && body.is_object() && body["accepted"] == kEvents) {
          ++answered;
          continue;
        }
        ++failed;
        std::lock_guard<std::mutex> lock(error_mutex);
        if (first_error.empty()) {
          first_error = res ? std::to_string(res->status) + " " + res->body
                            : "no response: " + httplib::to_string(res.error());
        }
      }
    });
  }
  const auto start = Clock::now();
  {
    std::lock_guard<std::mutex> lock(gate_mutex);
    open = true;
  }
  gate.notify_all();
  for (auto& t : writers) t.join();
  const double elapsed_ms = milliseconds_since(start);
  std::printf("measured: %d writers x %d POSTs: %d answered, %d failed, in %.0f ms\n", kWriters,
              kPosts, answered.load(), failed.load(), elapsed_ms);

  INFO(first_error);
  CHECK(failed == 0);
  CHECK(answered == kWriters * kPosts);
  CHECK(server.events("writers").value().size() == std::size_t{kWriters * kPosts * kEvents});
}

TEST_CASE("dev server hostile load: more than 100 header fields is 431 and the connection closes") {
  DevServerFixture server;
  const std::string within = raw_http(server.port(), request_with_fields(98));  // 100 with Host, Connection
  CHECK(status_line(within) == "HTTP/1.1 200 OK");

  const std::string response = raw_http(server.port(), request_with_fields(99));
  CHECK(status_line(response) == "HTTP/1.1 431 Request Header Fields Too Large");
  CHECK(body_of(response) == json{{"detail", "request header has more than 100 fields"}});
  CHECK(has_header_line(response, "Connection: close"));
}

TEST_CASE("dev server hostile load: a request head over 64 KiB or a header line over 8 KiB is 431") {
  DevServerFixture server;
  // Nine fields of 8000 bytes: each line is within its bound, the head is not.
  const std::string big_head = raw_http(server.port(), request_with_fields(9, std::string(8000, 'v')));
  CHECK(status_line(big_head) == "HTTP/1.1 431 Request Header Fields Too Large");
  CHECK(body_of(big_head) == json{{"detail", "request header exceeds 65536 bytes"}});
  CHECK(has_header_line(big_head, "Connection: close"));

  const std::string long_line = raw_http(server.port(), request_with_fields(1, std::string(9000, 'v')));
  CHECK(status_line(long_line) == "HTTP/1.1 431 Request Header Fields Too Large");
  CHECK(body_of(long_line) == json{{"detail", "request header line exceeds 8192 bytes"}});

  // The server still serves.
  CHECK(status_line(raw_http(server.port(), request_with_fields(7, std::string(8000, 'v')))) ==
        "HTTP/1.1 200 OK");
}

TEST_CASE("dev server hostile load: floods of ten thousand and a million header fields are refused without being buffered") {
  DevServerFixture server;
  for (std::size_t fields : {std::size_t{10000}, std::size_t{1000000}}) {
    INFO(fields << " header fields");
    const std::string request = request_with_fields(fields, "value");
    if (fields == 1000000) REQUIRE(request.size() > (13u << 20));
    const long before_kib = status_kib("VmRSS");
    REQUIRE(reset_peak_rss());
    const std::string response = raw_http(server.port(), request);
    const long growth_kib = status_kib("VmHWM") - before_kib;
    std::printf("measured: %zu header fields (%zu bytes): peak RSS growth %ld KiB\n", fields,
                request.size(), growth_kib);
    CHECK(status_line(response) == "HTTP/1.1 431 Request Header Fields Too Large");
    CHECK(body_of(response) == json{{"detail", "request header has more than 100 fields"}});
    CHECK(growth_kib < 8 * 1024);
  }
  CHECK(status_line(raw_http(server.port(), request_with_fields(0))) == "HTTP/1.1 200 OK");
}

TEST_CASE("dev server hostile load: malformed request lines answer 414 or 400 or 505 in JSON") {
  DevServerFixture server;
  const std::string long_target =
      raw_http(server.port(), "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(status_line(long_target) == "HTTP/1.1 414 URI Too Long");
  CHECK(body_of(long_target) == json{{"detail", "request line exceeds 8192 bytes"}});

  for (const std::string& line : {std::string("GET"), std::string("GET /health"),
                                  std::string("GET  /health HTTP/1.1"), std::string("GET /health HTTP/1.1 x"),
                                  std::string("GET /health FTP/1.1"), std::string("G(T /health HTTP/1.1")}) {
    INFO(line);
    const std::string response = raw_http(server.port(), line + "\r\nHost: x\r\n\r\n");
    CHECK(status_line(response) == "HTTP/1.1 400 Bad Request");
    CHECK(body_of(response) == json{{"detail", "malformed request line"}});
    CHECK(has_header_line(response, "Connection: close"));
  }

  const std::string http2 = raw_http(server.port(), "GET /health HTTP/2.0\r\nHost: x\r\n\r\n");
  CHECK(status_line(http2) == "HTTP/1.1 505 HTTP Version Not Supported");
  CHECK(body_of(http2) == json{{"detail", "HTTP version not supported"}});
}

TEST_CASE("dev server hostile load: stop returns promptly with an idle keep-alive client connected") {
  DevServerFixture server;
  httplib::Client idle("127.0.0.1", server.port());
  idle.set_keep_alive(true);
  auto res = idle.Get("/health");
  REQUIRE(res);
  REQUIRE(res->status == 200);  // the connection stays open, idle

  const auto start = Clock::now();
  server.stop();
  const double stop_ms = milliseconds_since(start);
  std::printf("measured: stop() with an idle keep-alive connection: %.2f ms\n", stop_ms);
  CHECK(stop_ms < 1000.0);
  CHECK_FALSE(server.server().running());
}

TEST_CASE("dev server hostile load: stop returns promptly with a slowloris client connected") {
  DevServerFixture server;
  std::vector<std::unique_ptr<RawConnection>> slow;
  slow.push_back(std::make_unique<RawConnection>(server.port()));
  Trickler trickler(pointers(slow), 30);
  trickler.wait_for_rounds(2);  // the server is reading its head

  const auto start = Clock::now();
  server.stop();
  const double stop_ms = milliseconds_since(start);
  trickler.stop();
  std::printf("measured: stop() with a slowloris connection: %.2f ms\n", stop_ms);
  CHECK(stop_ms < 1000.0);
  CHECK(slow[0]->closed_by_server(std::chrono::seconds(2)));
}
