// The dev server's console: the read routes behind its pages (a session analysed, the sessions
// list, failures grouped, two sessions diffed, an artifact's bytes) and its static front end
// (apps/dev/console/, compiled into the binary).
//
// The sessions list and the failures are answered from a per-trace summary cache held in memory:
// a trace's summary (its row, counts, cost, fingerprint) is computed once from its stored events
// and recomputed only after the trace is re-created or gets new events (invalidate()). Every
// summary is computed once in the background when the server starts (a read that comes first
// waits for it); later reads recompute only the traces invalidated since, then sort and filter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dev/dev_store.hpp"
#include "dev/http_request.hpp"
#include "promptetheus/policy.hpp"

namespace promptetheus::devserver {

/// The decoded query parameters of a request target ("?a=1&b=x%20y"); '+' is a space. The first
/// value of a repeated name wins.
std::map<std::string, std::string> parse_query(const std::string& target);

/// The Content-Security-Policy and related headers every console response carries.
void set_console_security_headers(Response& res);

/// Fills `res` with the console's static file for `path` ("/", "/index.html", "/console.js",
/// "/console.css"); false when `path` is none of them.
bool serve_console_asset(const std::string& path, Response& res);

class ConsoleApi {
 public:
  /// Starts computing every trace's summary on a background thread. Costs are estimated with
  /// `prices` when given, else the default price table.
  ConsoleApi(DevStore& store, std::string data_dir,
             std::optional<std::map<std::string, policy::Price>> prices = std::nullopt);
  /// Stops the background computation (between two traces) and waits for it.
  ~ConsoleApi();
  /// Asks the background computation to stop at the next trace (the server is stopping).
  void stop() noexcept { stopping_ = true; }
  ConsoleApi(const ConsoleApi&) = delete;
  ConsoleApi& operator=(const ConsoleApi&) = delete;

  /// GET /api/traces/{id}/analysis
  void analysis(const std::string& id, const std::map<std::string, std::string>& query, Response& res);
  /// GET /api/console/sessions
  void sessions(const std::map<std::string, std::string>& query, Response& res);
  /// GET /api/failures
  void failures(Response& res);
  /// GET /api/diff?a=&b=
  void diff(const std::map<std::string, std::string>& query, Response& res);
  /// GET /api/traces/{id}/artifacts/{artifact_id}
  void artifact(const std::string& id, const std::string& artifact_id, Response& res);

  /// POST /mcp/failure-context {incident_id, session_id, run_id}, the hosted API's route that
  /// the reference's MCP proxy calls: the failure context (analysis/failure_context.hpp) of the
  /// session named by session_id, else run_id, else incident_id (this server has no incidents:
  /// an incident id is read as a session id), else of the newest failed session.
  void mcp_failure_context(const nlohmann::json& body, Response& res);
  /// POST /mcp/fix-brief {incident_id, session_id, include_evidence}: a brief for fixing that
  /// session (analysis/fix_brief.hpp), with the failure context as "evidence" unless
  /// include_evidence is false.
  void mcp_fix_brief(const nlohmann::json& body, Response& res);

  /// The trace was created, re-created or got new events: its summary is recomputed when next read.
  void invalidate(const std::string& trace_id);

  struct Summary;
  struct Analysed;

 private:
  void refresh_locked();
  std::shared_ptr<const Analysed> analysed(const std::string& id);
  /// The session an /mcp/* request names (see mcp_failure_context) and its failure context;
  /// nullopt after answering the error.
  std::optional<nlohmann::json> mcp_context(const nlohmann::json& body, Response& res);

  const std::map<std::string, policy::Price>* prices() const { return prices_ ? &*prices_ : nullptr; }

  DevStore& store_;
  std::string data_dir_;
  std::optional<std::map<std::string, policy::Price>> prices_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // the summaries; held while they are computed
  bool loaded_ = false;                                                        // guarded by mutex_
  std::unordered_map<std::string, std::shared_ptr<const Summary>> summaries_;  // guarded by mutex_
  // Traces changed since their summary was computed. Its own lock, so that ingestion never
  // waits for a summary computation.
  std::mutex dirty_mutex_;
  std::set<std::string> dirty_;  // guarded by dirty_mutex_
  std::thread warmer_;
  // The last few sessions analysed, so that paging through a long timeline analyses it once.
  std::mutex analysed_mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<const Analysed>>> analysed_;  // most recent last
  std::uint64_t changes_ = 0;  // invalidations so far; guarded by analysed_mutex_
};

}  // namespace promptetheus::devserver
