// The embedded local ingestion server behind `promptetheus dev`: the HTTP API of spec §5.1 (plus
// read routes for local inspection), stored in SQLite, artifacts under a data directory.
// Usable in-process: tests start it on an ephemeral loopback port (see
// tests/integration/dev_server_fixture.hpp).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dev/dev_auth.hpp"
#include "dev/http_server.hpp"
#include "dev/request_body.hpp"
#include "promptetheus/policy.hpp"

namespace promptetheus::devserver {

struct DevServerOptions {
  std::string host = "127.0.0.1";
  int port = 4318;                       // 0 = any free port (see DevServer::port())
  std::string data_dir = ".promptetheus/dev";
  std::string db_path;                   // empty = <data_dir>/promptetheus.db
  Credentials credentials;               // an empty key list falls back to pt_dev_key
  BodyLimits limits;
  std::size_t max_artifact_bytes = 50u << 20;  // 52428800, PROMPTETHEUS_MAX_ARTIFACT_BYTES
  ConnectionLimits connections;          // connection cap, head limits, timeouts (http_server.hpp)
  /// The console's cost estimates: this table, else the default one (policy::resolve_price).
  std::optional<std::map<std::string, policy::Price>> prices;
};

/// Thread-safety: start() and stop() may be called from any thread and are serialised;
/// running() and port() may be called from any thread at any time; base_url() while running.
/// Requests are served on their connections' threads (one per connection, see http_server.hpp).
class DevServer {
 public:
  DevServer();
  ~DevServer();  // stops the server
  DevServer(const DevServer&) = delete;
  DevServer& operator=(const DevServer&) = delete;

  /// Opens the database, binds and starts serving on background threads; returns once it is
  /// listening, with the bound port. Throws std::runtime_error (already running, cannot create
  /// the data dir, open the database, or bind: a busy port says `port N is in use (is another
  /// promptetheus dev running?)`); nothing is left running then.
  int start(const DevServerOptions& options);
  /// Stops accepting, closes idle and slow connections at once, lets handlers already running
  /// finish, then closes the database. Returns within milliseconds unless a handler is slow (a
  /// large SQLite transaction). After it returns the port can be bound again and start() may
  /// be called again. Idempotent, noexcept.
  void stop() noexcept;

  bool running() const noexcept;
  int port() const noexcept;
  /// `http://<host>:<port>`.
  std::string base_url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace promptetheus::devserver
