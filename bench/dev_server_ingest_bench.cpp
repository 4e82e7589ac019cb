// End-to-end ingest rate of the dev server: client threads POST batches of events over loopback
// HTTP (keep-alive) to an in-process server, which validates, deduplicates and stores them in
// SQLite. A share of the batches is sent twice, as SDK retries and spool replays do, so the
// dedupe path is part of the figure. Prints events stored per second.
//
//   dev_server_ingest_bench [--threads 2] [--batches 2000] [--batch-size 50] [--duplicates 10]
//                           [--gzip]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <zlib.h>

#include "dev/dev_server.hpp"
#include "dev/http.hpp"

namespace {

using nlohmann::json;
using promptetheus::devserver::DevServer;
using promptetheus::devserver::DevServerOptions;

struct Config {
  int threads = 2;
  int batches = 2000;     // per thread
  int batch_size = 50;    // the SDK's default batch size
  int duplicate_pct = 10; // share of batches posted a second time
  bool gzip = false;
};

std::string gzip(const std::string& data) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, data.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(&out[0]);
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// A realistic event: the envelope the SDK sends, with a short message payload.
json make_event(const std::string& session, long seq) {
  return {{"type", seq % 3 == 0 ? "tool_call" : "agent_message"},
          {"session_id", session},
          {"timestamp", "2026-11-21T20:42:43.441411Z"},
          {"seq", seq},
          {"idempotency_key", session + ":667220d9:" + std::to_string(seq)},
          {"payload",
           seq % 3 == 0
               ? json{{"tool_name", "calendar.search"},
                      {"arguments", {{"day", "tuesday"}, {"slots", 3}}},
                      {"call_id", "0123456789abcdef0123456789abcdef"}}
               : json{{"content", "Checking the calendar for an open slot on Tuesday afternoon."}}}};
}

int parse_int(const char* text) { return std::atoi(text); }

// CPU seconds (user + system) used so far by the whole process: on a shared, loaded machine this
// is steadier than elapsed time, which depends on how much of the cores the other work leaves us.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--threads" && has_value) config.threads = parse_int(argv[++i]);
    else if (arg == "--batches" && has_value) config.batches = parse_int(argv[++i]);
    else if (arg == "--batch-size" && has_value) config.batch_size = parse_int(argv[++i]);
    else if (arg == "--duplicates" && has_value) config.duplicate_pct = parse_int(argv[++i]);
    else if (arg == "--gzip") config.gzip = true;
    else {
      std::cerr << "usage: dev_server_ingest_bench [--threads N] [--batches N] [--batch-size N] "
                   "[--duplicates PCT] [--gzip]\n";
      return 2;
    }
  }

  char pattern[] = "/tmp/promptetheus-dev-bench-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  DevServerOptions options;
  options.port = 0;
  options.data_dir = pattern;
  DevServer server;
  const int port = server.start(options);

  // Bodies are built before timing: the figure is the server's, plus the HTTP round trips.
  std::vector<std::vector<std::string>> bodies(config.threads);
  std::vector<std::string> sessions;
  for (int t = 0; t < config.threads; ++t) {
    sessions.push_back("01BENCH" + std::to_string(t));
    httplib::Client c("127.0.0.1", port);
    c.Post("/api/traces", {{"Authorization", "Bearer pt_dev_key"}},
           json{{"id", sessions[t]}, {"user_goal", "bench"}, {"agent", "bench"}}.dump(),
           "application/json");
    for (int b = 0; b < config.batches; ++b) {
      json events = json::array();
      for (int i = 0; i < config.batch_size; ++i) {
        events.push_back(make_event(sessions[t], static_cast<long>(b) * config.batch_size + i));
      }
      std::string body = json{{"events", std::move(events)}}.dump();
      bodies[t].push_back(config.gzip ? gzip(body) : std::move(body));
    }
  }

  std::vector<long> accepted(config.threads, 0);
  std::vector<int> failures(config.threads, 0);
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = process_cpu_seconds();
  std::vector<std::thread> clients;
  for (int t = 0; t < config.threads; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      httplib::Headers headers{{"Authorization", "Bearer pt_dev_key"}};
      if (config.gzip) headers.emplace("Content-Encoding", "gzip");
      for (int b = 0; b < config.batches; ++b) {
        const int copies = (b * 100 / config.batches) < config.duplicate_pct ? 2 : 1;
        for (int copy = 0; copy < copies; ++copy) {
          auto res = c.Post("/api/traces/" + sessions[t] + "/events", headers, bodies[t][b],
                            "application/json");
          if (!res || res->status != 200) {
            ++failures[t];
            continue;
          }
          accepted[t] += json::parse(res->body)["accepted"].get<long>();
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = process_cpu_seconds() - cpu_start;

  // Verify through the read route that every unique event is stored exactly once.
  long stored = 0;
  httplib::Client reader("127.0.0.1", port);
  for (const auto& session : sessions) {
    auto res = reader.Get("/api/traces/" + session + "/events",
                          {{"Authorization", "Bearer pt_console_token"}});
    if (res && res->status == 200) stored += static_cast<long>(json::parse(res->body)["events"].size());
  }
  server.stop();
  std::filesystem::remove_all(pattern);

  long total_accepted = 0;
  int total_failures = 0;
  for (int t = 0; t < config.threads; ++t) {
    total_accepted += accepted[t];
    total_failures += failures[t];
  }
  const long expected = static_cast<long>(config.threads) * config.batches * config.batch_size;
  std::printf("threads=%d batches/thread=%d batch_size=%d duplicates=%d%% gzip=%s\n",
              config.threads, config.batches, config.batch_size, config.duplicate_pct,
              config.gzip ? "yes" : "no");
  std::printf("elapsed %.3f s, requests failed %d\n", seconds, total_failures);
  std::printf("stored %ld of %ld unique events (accepted %ld incl. duplicates)\n", stored, expected,
              total_accepted);
  std::printf("ingest rate: %.0f events/s stored, %.0f events/s processed\n", stored / seconds,
              total_accepted / seconds);
  // Server and client threads together (the clients' share is the HTTP round trips only).
  std::printf("cpu %.3f s: %.1f us per processed event, %.0f processed events per CPU second\n",
              cpu_seconds, total_accepted ? cpu_seconds * 1e6 / total_accepted : 0.0,
              cpu_seconds > 0 ? total_accepted / cpu_seconds : 0.0);
  return stored == expected && total_failures == 0 ? 0 : 1;
}
