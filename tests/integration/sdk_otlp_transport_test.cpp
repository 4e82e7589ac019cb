// The SDK's OpenTelemetry destination end to end, against an OTLP/HTTP receiver on 127.0.0.1:
// spans leave as they end with the right tree, ids and headers; an endpoint outage loses no
// span (the outbox is sent after recovery, also by the next process: invariant I1 in spans);
// a refused request is kept with its reason; and beside the HTTP API each destination goes on
// when the other is down or silent.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <promptetheus/promptetheus.hpp>

#include "fault_proxy.hpp"

namespace pt = promptetheus;
namespace fs = std::filesystem;
using nlohmann::json;
using promptetheus::testing::Fault;
using promptetheus::testing::FaultServer;
using promptetheus::testing::RecordedRequest;
using Clock = std::chrono::steady_clock;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() /
             ("promptetheus-otlp-" + name + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(Clock::now().time_since_epoch().count()));
  fs::remove_all(dir);
  return dir;
}

pt::Options otlp_options(const std::string& endpoint, const fs::path& dir) {
  pt::Options options;
  options.transport = pt::TransportMode::otlp;
  options.otlp_endpoint = endpoint;
  options.spool_dir = (dir / "spool").string();
  options.flush_interval = std::chrono::milliseconds(20);
  options.flush_at_exit = false;
  return options;
}

// Which requests a fault hook answered with a fault, so that the spans a receiver took can be
// told from those it refused.
class FaultLog {
 public:
  void add(std::size_t index) {
    std::lock_guard<std::mutex> lock(mutex_);
    faulted_.insert(index);
  }
  bool faulted(std::size_t index) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return faulted_.count(index) != 0;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::size_t> faulted_;
};

// The spans of the OTLP requests the receiver took (by spanId; a span sent twice counts once),
// and how many span copies arrived in all.
struct Received {
  std::map<std::string, json> spans;
  std::size_t copies = 0;
  std::vector<RecordedRequest> requests;
};

Received received(const FaultServer& server, const FaultLog* faults = nullptr) {
  Received r;
  for (const RecordedRequest& req : server.requests()) {
    if (req.target != "/v1/traces" || (faults && faults->faulted(req.index))) continue;
    r.requests.push_back(req);
    const json body = json::parse(req.body);
    for (const json& resource : body["resourceSpans"]) {
      for (const json& scope : resource["scopeSpans"]) {
        for (json span : scope["spans"]) {
          span["service"] = resource["resource"]["attributes"][0]["value"]["stringValue"];
          ++r.copies;
          r.spans[span["spanId"].get<std::string>()] = span;
        }
      }
    }
  }
  return r;
}

template <typename Done>
bool wait_for(Done done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

const json* span_named(const Received& r, const std::string& name) {
  for (const auto& [id, span] : r.spans) {
    if (span["name"] == name) return &span;
  }
  return nullptr;
}

// Records `sessions` sessions of two nested spans each (three spans with the root).
void record_sessions(pt::Client& client, const std::string& prefix, int sessions) {
  for (int i = 0; i < sessions; ++i) {
    pt::SessionOptions so;
    so.session_id = prefix + std::to_string(i);
    so.agent = "otlp-agent";
    so.client = &client;
    pt::Session s(so);
    pt::Span outer(s, "outer");
    pt::Span inner(s, "inner");
    s.tool_call("calendar.search", json{{"day", "Tuesday"}});
  }
}

}  // namespace

TEST_CASE("otlp transport: spans leave as they end, in the session's trace, with the configured headers",
          "[otlp][e2e]") {
  FaultServer receiver;
  const fs::path dir = fresh_dir("live");
  pt::Options options = otlp_options(receiver.base_url(), dir);
  options.otlp_headers = "x-team=search%20team, x-tenant = 42";
  options.otlp_resource_attributes = "deployment.environment=test";
  pt::Client client(options);
  CHECK(client.stats().transport == "otlp");

  pt::SessionOptions so;
  so.session_id = "otlp-live";
  so.agent = "calendar-agent";
  so.client = &client;
  pt::Session session(so);
  const pt::TraceContext root = session.trace_context();
  std::string outer_context, inner_context;
  {
    pt::Span outer(session, "plan");
    outer_context = outer.trace_context().parent_id();
    {
      pt::Span inner(session, "search");
      inner_context = inner.trace_context().parent_id();
      session.tool_call("calendar.search", json{{"day", "Tuesday"}});
    }
    // Live: the inner span is at the receiver while its session, and its parent, still run.
    CHECK(wait_for([&] { return span_named(received(receiver), "search") != nullptr; }));
    CHECK(span_named(received(receiver), "plan") == nullptr);
  }
  session.end();
  REQUIRE(client.flush(std::chrono::seconds(10)));
  CHECK(wait_for([&] { return received(receiver).spans.size() == 3; }));
  CHECK(client.shutdown(std::chrono::seconds(5)));

  const Received r = received(receiver);
  REQUIRE(r.spans.size() == 3);
  CHECK(r.copies == 3);
  const json* session_span = span_named(r, "promptetheus.session otlp-live");
  const json* plan = span_named(r, "plan");
  const json* search = span_named(r, "search");
  REQUIRE(session_span);
  REQUIRE(plan);
  REQUIRE(search);
  for (const auto& [id, span] : r.spans) {
    CHECK(span["traceId"] == root.trace_id());
    CHECK(span["service"] == "calendar-agent");
  }
  CHECK((*session_span)["spanId"] == root.parent_id());
  CHECK_FALSE(session_span->contains("parentSpanId"));
  CHECK((*plan)["spanId"] == outer_context);
  CHECK((*plan)["parentSpanId"] == root.parent_id());
  CHECK((*search)["spanId"] == inner_context);
  CHECK((*search)["parentSpanId"] == outer_context);
  REQUIRE((*search)["events"].size() == 1);
  CHECK((*search)["events"][0]["name"] == "tool_call");

  for (const RecordedRequest& req : r.requests) {
    CHECK(req.header("x-team") == "search team");
    CHECK(req.header("x-tenant") == "42");
    CHECK(req.header("content-type") == "application/json");
    CHECK(req.body.find("\"deployment.environment\"") != std::string::npos);
  }
  const pt::Stats stats = client.stats();
  CHECK(stats.otlp_spans_exported == 3);
  CHECK(stats.otlp_spans_pending == 0);
  CHECK(stats.otlp_spans_dropped == 0);
  // transport=otlp keeps the spool as the record of every event.
  CHECK(stats.spooled == stats.enqueued);
  CHECK(fs::exists(dir / "spool" / "otlp-live.jsonl"));
  fs::remove_all(dir);
}

TEST_CASE("otlp transport: an endpoint outage loses no span: the outbox is sent after recovery, also by the next process",
          "[otlp][e2e]") {
  FaultServer receiver;
  FaultLog faults;
  std::atomic<bool> down{true};
  receiver.set_fault([&](const RecordedRequest& req) -> std::optional<Fault> {
    if (!down.load()) return std::nullopt;
    faults.add(req.index);
    return req.index % 2 ? Fault::close() : Fault::status_code(503);
  });
  const fs::path dir = fresh_dir("outage");
  constexpr int kSessions = 20;
  {
    pt::Client client(otlp_options(receiver.base_url(), dir));
    record_sessions(client, "outage-a", kSessions);
    REQUIRE(client.flush(std::chrono::seconds(10)));
    CHECK(wait_for([&] { return !receiver.requests().empty(); }));
    const auto started = Clock::now();
    client.shutdown(std::chrono::seconds(2));
    CHECK(Clock::now() - started < std::chrono::seconds(4));  // bounded, whatever the endpoint does
    const pt::Stats stats = client.stats();
    CHECK(stats.otlp_spans_exported == 0);
    CHECK(stats.otlp_spans_pending == 3 * kSessions);
    CHECK(stats.spooled == stats.enqueued);
  }
  CHECK(received(receiver, &faults).spans.empty());

  // The endpoint is back; a new process with the same spool directory sends what waited, and
  // records more meanwhile.
  down = false;
  pt::Client client(otlp_options(receiver.base_url(), dir));
  CHECK(client.stats().otlp_spans_pending == 3 * kSessions);
  record_sessions(client, "outage-b", kSessions);
  CHECK(wait_for([&] { return received(receiver, &faults).spans.size() == 6 * kSessions; }));
  CHECK(wait_for([&] { return client.stats().otlp_spans_pending == 0; }));
  CHECK(client.shutdown(std::chrono::seconds(5)));
  const Received r = received(receiver, &faults);
  CHECK(r.spans.size() == 6 * kSessions);
  for (int i = 0; i < kSessions; ++i) {
    for (const char* prefix : {"outage-a", "outage-b"}) {
      INFO(prefix << i);
      CHECK(span_named(r, std::string("promptetheus.session ") + prefix + std::to_string(i)) != nullptr);
    }
  }
  const pt::Stats stats = client.stats();
  CHECK(stats.otlp_spans_exported == 6 * kSessions);
  CHECK(stats.otlp_spans_dropped == 0);
  CHECK(fs::is_empty(dir / "spool" / "otlp"));
  fs::remove_all(dir);
}

TEST_CASE("otlp transport: a short outage is recovered by the same process", "[otlp][e2e]") {
  FaultServer receiver;
  FaultLog faults;
  receiver.set_fault([&](const RecordedRequest& req) -> std::optional<Fault> {
    if (req.index >= 2) return std::nullopt;
    faults.add(req.index);
    return Fault::status_code(429).with_header("Retry-After", "1");
  });
  const fs::path dir = fresh_dir("recover");
  pt::Client client(otlp_options(receiver.base_url(), dir));
  record_sessions(client, "recover-", 5);
  CHECK(wait_for([&] { return received(receiver, &faults).spans.size() == 15; }));
  CHECK(client.shutdown(std::chrono::seconds(5)));
  const pt::Stats stats = client.stats();
  CHECK(stats.otlp_spans_exported == 15);
  CHECK(stats.otlp_spans_pending == 0);
  fs::remove_all(dir);
}

TEST_CASE("otlp transport: a refused request is kept with its reason, a partial success is counted", "[otlp][e2e]") {
  FaultServer receiver;
  receiver.set_fault([&](const RecordedRequest& req) -> std::optional<Fault> {
    if (req.index == 0) return Fault::status_code(400, R"({"code":3,"message":"bad spans"})");
    return Fault::status_code(200, R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"one too old"}})");
  });
  const fs::path dir = fresh_dir("refused");
  pt::Client client(otlp_options(receiver.base_url(), dir));
  record_sessions(client, "refused-a", 1);
  REQUIRE(client.flush(std::chrono::seconds(10)));
  CHECK(wait_for([&] { return client.stats().otlp_spans_rejected >= 3; }));
  record_sessions(client, "refused-b", 1);
  CHECK(wait_for([&] { return client.stats().otlp_spans_exported >= 2; }));
  CHECK(client.shutdown(std::chrono::seconds(5)));
  const pt::Stats stats = client.stats();
  CHECK(stats.otlp_spans_rejected == 4);  // the refused request's 3, and 1 of the partial success
  CHECK(stats.otlp_spans_exported == 2);
  CHECK(stats.otlp_spans_pending == 0);
  std::vector<fs::path> kept;
  for (const auto& entry : fs::directory_iterator(dir / "spool" / "dead-letter" / "otlp")) kept.push_back(entry.path());
  REQUIRE(kept.size() == 2);  // the request and its .reason
  std::sort(kept.begin(), kept.end());
  CHECK(json::parse(std::ifstream(kept[0]))["resourceSpans"].size() == 1);
  std::ifstream reason_file(kept[1]);
  const std::string reason((std::istreambuf_iterator<char>(reason_file)), {});
  CHECK(reason.find("http_400") != std::string::npos);
  CHECK(reason.find("bad spans") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("otlp tee: with the API down every span still goes out, and every event waits in the outbox", "[otlp][e2e]") {
  FaultServer api;
  FaultServer receiver;
  api.stop();
  const fs::path dir = fresh_dir("tee-api-down");
  pt::Options options = otlp_options(receiver.base_url(), dir);
  options.transport = pt::TransportMode::http;
  options.api_url = api.base_url();
  options.api_key = "pt_test_key";
  pt::Client client(options);
  CHECK(client.stats().transport == "http+otlp");
  record_sessions(client, "tee-a", 5);
  REQUIRE(client.flush(std::chrono::seconds(10)));
  CHECK(wait_for([&] { return received(receiver).spans.size() == 15; }));
  CHECK(client.shutdown(std::chrono::seconds(5)));
  const pt::Stats stats = client.stats();
  CHECK(stats.delivered == 0);
  CHECK(stats.spooled == stats.enqueued);
  CHECK(stats.otlp_spans_exported == 15);
  fs::remove_all(dir);
}

TEST_CASE("otlp tee: an OTLP endpoint that never answers does not hold the events bound for the API", "[otlp][e2e]") {
  FaultServer api;
  FaultServer receiver;
  receiver.set_fault([](const RecordedRequest&) -> std::optional<Fault> { return Fault::hang(); });
  const fs::path dir = fresh_dir("tee-otlp-silent");
  pt::Options options = otlp_options(receiver.base_url(), dir);
  options.transport = pt::TransportMode::http;
  options.api_url = api.base_url();
  options.api_key = "pt_test_key";
  pt::Client client(options);
  record_sessions(client, "tee-b", 5);
  REQUIRE(client.flush(std::chrono::seconds(10)));
  CHECK(wait_for([&] { return !received(receiver).requests.empty(); }));
  const pt::Stats during = client.stats();
  CHECK(during.delivered == during.enqueued);  // every event reached the API
  CHECK(during.otlp_spans_exported == 0);
  CHECK(api.stored_events("tee-b4").size() > 0);
  const auto started = Clock::now();
  client.shutdown(std::chrono::seconds(2));
  CHECK(Clock::now() - started < std::chrono::seconds(4));
  CHECK(client.stats().otlp_spans_pending == 15);  // left in the outbox for the next process
  receiver.stop();
  fs::remove_all(dir);
}
