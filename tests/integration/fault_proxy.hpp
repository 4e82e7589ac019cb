// A small in-process HTTP/1.1 ingestion server for delivery tests, on 127.0.0.1 with an
// ephemeral port. By default it implements the events contract of spec §5 in memory (traces,
// `{"accepted","rejected"}`, de-duplication by idempotency_key, 404 for unknown traces), and
// answers OTLP/HTTP's POST /v1/traces with an empty ExportTraceServiceResponse. A
// fault hook can replace any answer: a status (500 storms, 429 with Retry-After), accepting and
// never answering, or closing the connection without a response. Every request is recorded.
//
//   FaultServer server;
//   server.set_fault([](const RecordedRequest& r) -> std::optional<Fault> {
//     return r.index < 3 ? std::optional<Fault>(Fault::status(500)) : std::nullopt; });
//   ... HttpTransport with endpoint server.base_url() ...
//   server.stored_events("sess") / server.requests() / server.stop() / server.start()
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptetheus::testing {

struct RecordedRequest {
  std::size_t index = 0;  ///< 0-based order of arrival
  std::string method;
  std::string target;     ///< the raw request target, as sent
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string raw_body;
  std::string body;       ///< gunzipped when Content-Encoding: gzip
  std::chrono::steady_clock::time_point at;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Fault {
  enum class Kind { respond, hang, close } kind = Kind::respond;
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Fault status_code(int code, std::string body = R"({"detail":"injected"})") {
    Fault f;
    f.status = code;
    f.body = std::move(body);
    return f;
  }
  static Fault hang() { Fault f; f.kind = Kind::hang; return f; }
  static Fault close() { Fault f; f.kind = Kind::close; return f; }
  Fault with_header(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
  }
};

/// Decides a fault for a request, or nullopt to answer normally.
using FaultHook = std::function<std::optional<Fault>(const RecordedRequest&)>;

class FaultServer {
 public:
  /// `count_only`: answer every events POST with `{"accepted": <number of events>}` without
  /// storing or parsing them (a counting sink for benchmarks). `record`: keep every request.
  explicit FaultServer(bool count_only = false, bool record = true);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  /// Listens again on the same port (after stop()).
  void start();
  /// Closes the listening socket and every connection (hung requests included).
  void stop();

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void set_fault(FaultHook hook);
  /// Events whose idempotency_key is in the map are rejected with that reason.
  void reject_keys(std::map<std::string, std::string> key_to_reason);
  /// Forgets every stored trace and event (a server that lost its data).
  void forget_everything();

  std::vector<RecordedRequest> requests() const;
  /// Stored events of a session, sorted by seq.
  std::vector<nlohmann::json> stored_events(const std::string& session) const;
  std::set<std::string> traces() const;
  std::map<std::string, nlohmann::json> trace_bodies() const;
  /// Total events stored over all sessions, and events counted in count_only mode.
  std::size_t stored_count() const;
  std::uint64_t counted_events() const { return counted_.load(); }
  /// Requests answered from the event store (not by a fault) whose trace did not exist.
  std::size_t trace_not_found_count() const;

 private:
  void accept_loop(int listen_fd);
  void serve(int fd);
  bool handle(int fd, RecordedRequest& req, bool& keep_alive);
  std::pair<int, std::string> answer(const RecordedRequest& req);

  bool count_only_;
  bool record_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable hang_cv_;
  std::vector<int> connections_;
  std::vector<std::thread> workers_;
  std::vector<RecordedRequest> requests_;
  std::size_t next_index_ = 0;
  FaultHook fault_;
  std::map<std::string, std::string> reject_;
  std::map<std::string, nlohmann::json> traces_;
  std::map<std::string, std::map<std::string, nlohmann::json>> events_;  // session -> key -> event
  std::size_t not_found_ = 0;
  std::atomic<std::uint64_t> counted_{0};
};

/// Counts the elements of the top-level `"events"` array of a body without parsing values.
std::uint64_t count_events_fast(const std::string& body);

}  // namespace promptetheus::testing
