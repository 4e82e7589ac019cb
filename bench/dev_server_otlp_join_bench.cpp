// Cost of OTLP spans joining a long agent session in the dev server: an agent session of N events
// (half of them span_starts of the SDK's "span_<32 hex>" spans) is stored through the events route,
// then a client POSTs ExportTraceServiceRequests of one span each in the session's trace, each
// span the child of one of the agent's spans (as a downstream service's server span is). Prints
// the time the session's events took to store and each joined request's latency: the first (which
// may read the session's spans) and the median, p99 and maximum of the others.
//
//   dev_server_otlp_join_bench [--events 100000] [--requests 200]
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev/dev_server.hpp"
#include "dev/http.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* const kSession = "01BENCHJOIN";
const char* const kTrace = "5b8efff798038103d269b633813fc60c";

std::string random_hex(std::mt19937_64& random, int digits) {
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(random()));
    out += buffer;
  }
  return out.substr(0, static_cast<std::size_t>(digits));
}

json agent_event(long seq, const json& payload, const std::string& span_id) {
  json event{{"type", "state_change"},
             {"session_id", kSession},
             {"timestamp", "2026-11-21T20:42:43.441411Z"},
             {"seq", seq},
             {"idempotency_key", std::string(kSession) + ":" + std::to_string(seq)},
             {"payload", payload}};
  if (!span_id.empty()) {
    event["span_id"] = span_id;
    event["parent_id"] = nullptr;
  }
  return event;
}

json joined_request(int n, const std::string& parent_otel_id) {
  const long long start = 1764000000000000000LL + n * 1000000LL;
  char span_id[17];
  std::snprintf(span_id, sizeof span_id, "%016x", n + 1);
  json span{{"traceId", kTrace},
            {"spanId", span_id},
            {"parentSpanId", parent_otel_id},
            {"name", "GET /inventory/items"},
            {"kind", 2},
            {"startTimeUnixNano", std::to_string(start)},
            {"endTimeUnixNano", std::to_string(start + 800)}};
  return {{"resourceSpans",
           {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", "inventory"}}}}}}}},
             {"scopeSpans", {{{"scope", {{"name", "http-server"}}}, {"spans", {span}}}}}}}}};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  long events = 100000;
  int requests = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--events" && has_value) events = std::atol(argv[++i]);
    else if (arg == "--requests" && has_value) requests = std::atoi(argv[++i]);
    else {
      std::cerr << "usage: dev_server_otlp_join_bench [--events N] [--requests N]\n";
      return 2;
    }
  }
  char pattern[] = "/tmp/promptetheus-otlp-join-bench-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  promptetheus::devserver::DevServerOptions options;
  options.port = 0;
  options.data_dir = pattern;
  promptetheus::devserver::DevServer server;
  const int port = server.start(options);
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  // Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the body
  // until the server's delayed ACK, adding about 40 ms to every request.
  client.set_tcp_nodelay(true);
  const httplib::Headers headers{{"Authorization", "Bearer pt_dev_key"}};
  int failures = 0;

  // The agent session: session_started in the incoming trace, then span_start/span_end pairs.
  std::mt19937_64 random(42);
  std::vector<json> agent;
  agent.push_back(agent_event(0, {{"name", "session_started"}, {"before", nullptr}, {"after", json::object()}}, ""));
  agent.back()["metadata"] = {{"trace_id", kTrace}, {"parent_span_id", "00f067aa0ba902b7"}};
  std::vector<std::string> agent_spans;
  for (long seq = 1; seq < events; ++seq) {
    if (seq % 2 == 1) {
      agent_spans.push_back("span_" + random_hex(random, 32));
      agent.push_back(agent_event(seq, {{"name", "span_start"}, {"span_name", "tool"}}, agent_spans.back()));
    } else {
      agent.push_back(agent_event(seq, {{"name", "span_end"}, {"span_name", "tool"}, {"duration_ms", 1}},
                                  agent_spans.back()));
    }
  }
  std::vector<std::string> batches;
  for (std::size_t i = 0; i < agent.size(); i += 500) {
    json batch = json::array();
    for (std::size_t k = i; k < std::min(agent.size(), i + 500); ++k) batch.push_back(agent[k]);
    batches.push_back(json{{"events", std::move(batch)}}.dump());
  }
  client.Post("/api/traces", headers, json{{"id", kSession}, {"user_goal", "bench"}, {"agent", "bench"}}.dump(),
              "application/json");
  const auto store_start = Clock::now();
  for (const std::string& body : batches) {
    auto res = client.Post(std::string("/api/traces/") + kSession + "/events", headers, body, "application/json");
    if (!res || res->status != 200) ++failures;
  }
  const double store_seconds = std::chrono::duration<double>(Clock::now() - store_start).count();

  std::vector<std::string> bodies;
  for (int n = 0; n < requests; ++n) {
    const std::string& parent = agent_spans[static_cast<std::size_t>(random() % agent_spans.size())];
    bodies.push_back(joined_request(n, parent.substr(5, 16)).dump());
  }
  std::vector<double> latencies_ms;
  for (const std::string& body : bodies) {
    const auto start = Clock::now();
    auto res = client.Post("/v1/traces", headers, body, "application/json");
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!res || res->status != 200 || res->body != "{}") ++failures;
  }
  server.stop();
  std::error_code ec;
  std::filesystem::remove_all(pattern, ec);

  const double first = latencies_ms.empty() ? 0 : latencies_ms.front();
  if (!latencies_ms.empty()) latencies_ms.erase(latencies_ms.begin());
  std::printf("agent session: %ld events stored in %.2f s (%.0f events/s)\n", events, store_seconds,
              static_cast<double>(events) / store_seconds);
  std::printf("joined requests of 1 span: first %.2f ms; the other %zu: median %.2f ms, p99 %.2f ms, max %.2f ms\n",
              first, latencies_ms.size(), percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99),
              percentile(latencies_ms, 1.0));
  if (failures) std::printf("FAILED requests: %d\n", failures);
  return failures ? 1 : 0;
}
