// Ingest rate of the dev server's OTLP/HTTP trace receiver: client threads POST
// ExportTraceServiceRequests (OTLP JSON, spans shaped like an HTTP client's: five attributes, no
// span events) over loopback keep-alive HTTP to an in-process server, which maps each span to its
// span_start and span_end events and stores them (one row per span, dev/otlp_span_record.hpp).
// Prints spans stored per second and, as the anchor measured in the same run, the native events
// route's rate for the same number of events (one row per event). Then reads every stored event
// back (GET /api/traces/{id}/events, one client), both ways: span rows are written out as events
// on read.
//
//   dev_server_otlp_ingest_bench [--threads 2] [--requests 200] [--spans 100]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev/dev_server.hpp"
#include "dev/http.hpp"

namespace {

using nlohmann::json;
using promptetheus::devserver::DevServer;
using promptetheus::devserver::DevServerOptions;

struct Config {
  int threads = 2;
  int requests = 200;  // per thread
  int spans = 100;     // per request
};

std::string hex(unsigned long long value, int digits) {
  char buffer[33];
  std::snprintf(buffer, sizeof buffer, "%0*llx", digits, value);
  return buffer;
}

json attribute(const char* key, json value) { return {{"key", key}, {"value", std::move(value)}}; }

// The trace of a thread's request: one trace per request.
std::string trace_of(int thread, int request) {
  return hex(0xABC000ULL + static_cast<unsigned long long>(thread), 16) +
         hex(static_cast<unsigned long long>(request) + 1, 16);
}

json otlp_request(int thread, int request, int spans) {
  json list = json::array();
  const std::string trace = trace_of(thread, request);
  const long long base = 1764000000000000000LL + request * 1000000LL;
  for (int i = 0; i < spans; ++i) {
    json span{{"traceId", trace},
              {"spanId", hex(static_cast<unsigned long long>(i) + 1, 16)},
              {"name", "GET /inventory/items"},
              {"kind", 3},
              {"startTimeUnixNano", std::to_string(base + i * 1000)},
              {"endTimeUnixNano", std::to_string(base + i * 1000 + 800)},
              {"attributes", {attribute("http.request.method", {{"stringValue", "GET"}}),
                              attribute("url.full", {{"stringValue", "http://inventory.internal/items?sku=4411"}}),
                              attribute("http.response.status_code", {{"intValue", "200"}}),
                              attribute("server.address", {{"stringValue", "inventory.internal"}}),
                              attribute("server.port", {{"intValue", "80"}})}},
              {"status", json::object()}};
    if (i > 0) span["parentSpanId"] = hex(1, 16);
    list.push_back(std::move(span));
  }
  return {{"resourceSpans",
           {{{"resource", {{"attributes", {attribute("service.name", {{"stringValue", "inventory"}})}}}},
             {"scopeSpans", {{{"scope", {{"name", "http-client"}}}, {"spans", std::move(list)}}}}}}}};
}

json native_event(const std::string& session, long seq) {
  return {{"type", "state_change"},
          {"session_id", session},
          {"timestamp", "2026-11-21T20:42:43.441411Z"},
          {"seq", seq},
          {"idempotency_key", session + ":bench:" + std::to_string(seq)},
          {"payload", {{"name", seq % 2 ? "span_end" : "span_start"}, {"span_name", "GET /inventory/items"}}},
          {"span_id", "span_" + hex(static_cast<unsigned long long>(seq / 2) + 1, 16)},
          {"parent_id", nullptr}};
}

// CPU seconds (user and system) this process has used so far, all threads.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Posts every body of every thread concurrently; returns the elapsed seconds, and the process's
// CPU seconds in `cpu_seconds`.
double post_all(int port, const std::string& path_prefix, const std::vector<std::vector<std::string>>& bodies,
                const std::vector<std::string>& paths, int& failures, double& cpu_seconds) {
  const double cpu_start = process_cpu_seconds();
  std::vector<int> failed(bodies.size(), 0);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (std::size_t t = 0; t < bodies.size(); ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      const httplib::Headers headers{{"Authorization", "Bearer pt_dev_key"}};
      for (const std::string& body : bodies[t]) {
        auto res = c.Post(path_prefix + paths[t], headers, body, "application/json");
        if (!res || res->status != 200 || (path_prefix == "/v1/traces" && res->body != "{}")) ++failed[t];
      }
    });
  }
  for (auto& c : clients) c.join();
  for (int f : failed) failures += f;
  cpu_seconds = process_cpu_seconds() - cpu_start;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// GETs the events of each session in turn; returns the elapsed seconds and adds the events read.
double read_all(int port, const std::vector<std::string>& sessions, long& events, int& failures) {
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  const httplib::Headers headers{{"Authorization", "Bearer pt_console_token"}};  // reading is a console feature
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& session : sessions) {
    auto res = c.Get("/api/traces/" + session + "/events", headers);
    if (!res || res->status != 200) {
      ++failures;
      continue;
    }
    events += static_cast<long>(json::parse(res->body)["events"].size());
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--threads" && has_value) config.threads = std::atoi(argv[++i]);
    else if (arg == "--requests" && has_value) config.requests = std::atoi(argv[++i]);
    else if (arg == "--spans" && has_value) config.spans = std::atoi(argv[++i]);
    else {
      std::cerr << "usage: dev_server_otlp_ingest_bench [--threads N] [--requests N] [--spans N]\n";
      return 2;
    }
  }
  char pattern[] = "/tmp/promptetheus-otlp-bench-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  DevServerOptions options;
  options.port = 0;
  options.data_dir = pattern;
  DevServer server;
  const int port = server.start(options);

  // Bodies are built before timing: the figures are the server's, plus the HTTP round trips.
  std::vector<std::vector<std::string>> otlp(static_cast<std::size_t>(config.threads));
  std::vector<std::vector<std::string>> native(static_cast<std::size_t>(config.threads));
  std::vector<std::string> sessions;
  for (int t = 0; t < config.threads; ++t) {
    sessions.push_back("01BENCHOTLP" + std::to_string(t));
    httplib::Client c("127.0.0.1", port);
    c.Post("/api/traces", {{"Authorization", "Bearer pt_dev_key"}},
           json{{"id", sessions.back()}, {"user_goal", "bench"}, {"agent", "bench"}}.dump(), "application/json");
    for (int r = 0; r < config.requests; ++r) {
      otlp[static_cast<std::size_t>(t)].push_back(otlp_request(t, r, config.spans).dump());
      json events = json::array();
      for (int i = 0; i < 2 * config.spans; ++i) {
        events.push_back(native_event(sessions.back(), static_cast<long>(r) * 2 * config.spans + i));
      }
      native[static_cast<std::size_t>(t)].push_back(json{{"events", std::move(events)}}.dump());
    }
  }

  int failures = 0;
  const std::vector<std::string> no_paths(static_cast<std::size_t>(config.threads), "");
  double otlp_cpu = 0;
  double native_cpu = 0;
  const double otlp_seconds = post_all(port, "/v1/traces", otlp, no_paths, failures, otlp_cpu);
  std::vector<std::string> event_paths;
  for (const std::string& s : sessions) event_paths.push_back(s + "/events");
  const double native_seconds = post_all(port, "/api/traces/", native, event_paths, failures, native_cpu);
  std::vector<std::string> otlp_sessions;
  for (int t = 0; t < config.threads; ++t) {
    for (int r = 0; r < config.requests; ++r) {
      otlp_sessions.push_back("otel_" + trace_of(t, r));
    }
  }
  long otlp_read = 0;
  long native_read = 0;
  const double otlp_read_seconds = read_all(port, otlp_sessions, otlp_read, failures);
  const double native_read_seconds = read_all(port, sessions, native_read, failures);
  server.stop();
  std::error_code ec;
  std::filesystem::remove_all(pattern, ec);

  const double spans = static_cast<double>(config.threads) * config.requests * config.spans;
  std::printf("otlp: %.0f spans in %.2f s = %.0f spans/s (%d threads, %d spans per request); "
              "CPU %.2f s = %.1f us per span, clients included\n",
              spans, otlp_seconds, spans / otlp_seconds, config.threads, config.spans, otlp_cpu,
              1e6 * otlp_cpu / spans);
  std::printf("anchor, native events route, the same 2 events per span: %.0f events in %.2f s = %.0f events/s "
              "(%.0f span pairs/s); CPU %.2f s = %.1f us per span pair\n",
              2 * spans, native_seconds, 2 * spans / native_seconds, spans / native_seconds, native_cpu,
              1e6 * native_cpu / spans);
  std::printf("read back: OTLP sessions %ld events in %.2f s = %.0f events/s (%zu sessions); "
              "native sessions %ld events in %.2f s = %.0f events/s (%zu sessions)\n",
              otlp_read, otlp_read_seconds, otlp_read / otlp_read_seconds, otlp_sessions.size(), native_read,
              native_read_seconds, native_read / native_read_seconds, sessions.size());
  if (otlp_read != 2 * static_cast<long>(spans) || native_read != 2 * static_cast<long>(spans)) {
    std::printf("FAILED: expected %.0f events read back each way\n", 2 * spans);
    ++failures;
  }
  if (failures) std::printf("FAILED requests: %d\n", failures);
  return failures ? 1 : 0;
}
