// The dev server's own HTTP/1.1 server layer: listens on one address, reads requests with bounded
// sizes and times, hands each to one handler, and writes its response. Keep-alive, pipelining,
// chunked request bodies and `Expect: 100-continue` are supported; TLS, HTTP/2 and response
// streaming are not (the dev server listens on loopback and answers with small JSON documents).
//
// Design: one thread per connection, up to ConnectionLimits::max_connections (then 503). A
// thread per connection is the simplest model in which a slow client can only ever hold its own
// connection: a client that sends its head or its body a byte at a time delays nobody else, and
// every wait is a poll() with a deadline, so each rule below is a few lines where it applies.
// The price is a thread (mostly untouched stack) per open connection, which the cap bounds; a
// poller handing complete requests to a worker pool would need the same per-connection state
// machine plus a handoff, and its workers could still be held by slow request bodies.
//
// Time bounds (ConnectionLimits): an idle keep-alive connection, or a new one that sends
// nothing, is closed after idle_timeout; once a request's first byte has arrived, its whole
// head must arrive within head_timeout (else 408); its body must arrive within body_timeout plus
// one second per body_min_bytes_per_second received (else 408, from the handler's read); each
// write of a response must progress within write_timeout. A request answered before it was read
// to its end (a refused head, a body too large or not read) is followed by a bounded discard of
// what the client still sends ("lingering close"), so that the answer reaches the client rather
// than a connection reset.
//
// Thread-safety: start() and stop() must not race each other (DevServer serialises them);
// running() and port() may be called from any thread. The handler runs on the connection's
// thread, concurrently with other connections' handlers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "dev/http_request.hpp"

namespace promptetheus::devserver {

struct ConnectionLimits {
  /// Connections served at once, each by its own thread. Beyond it a new connection is answered
  /// 503 `{"detail": "too many connections"}` and closed.
  std::size_t max_connections = 512;
  HeadLimits head;
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds body_timeout{10000};
  std::size_t body_min_bytes_per_second = 64 * 1024;
  std::chrono::milliseconds write_timeout{5000};
  /// After a refused request: how long, and how many bytes, to discard before closing.
  std::chrono::milliseconds linger_timeout{2000};
  std::size_t linger_max_bytes = 64u << 20;
};

/// Why HttpServer::start() could not listen.
class ListenError : public std::runtime_error {
 public:
  /// `error_number` is the errno of the call that failed, or 0 when the host did not resolve.
  ListenError(const std::string& message, int error_number)
      : std::runtime_error(message), error_number_(error_number) {}
  int error_number() const noexcept { return error_number_; }

 private:
  int error_number_;
};

class HttpServer {
 public:
  /// Fills in the response to one request. Runs on the connection's thread. An exception it
  /// throws is answered 500 `{"detail": "internal server error"}`.
  using Handler = std::function<void(Request&, Response&)>;

  HttpServer(ConnectionLimits limits, Handler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds `host:port` (SO_REUSEADDR only, never SO_REUSEPORT: a busy port fails with
  /// EADDRINUSE) and starts accepting on a background thread. Returns the bound port (the
  /// chosen one when `port` is 0). Throws ListenError. Call once.
  int start(const std::string& host, int port);

  /// Stops accepting, wakes every connection thread and joins them: connections waiting for a
  /// request, reading a head or a body, or blocked writing are closed at once; a handler
  /// already running finishes, and its response is sent if the socket takes it without
  /// waiting. Returns within milliseconds unless a handler is slow. Idempotent, noexcept.
  void stop() noexcept;

  bool running() const noexcept { return running_.load(); }
  int port() const noexcept { return port_.load(); }

 private:
  struct Connection;

  void accept_loop();
  void accept_pending();
  void refuse(int fd, const char* detail);
  void join_finished_connections();
  void serve(Connection& connection);

  ConnectionLimits limits_;
  Handler handler_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;      // eventfd, readable once stop() has begun: wakes every wait
  int finished_fd_ = -1;  // eventfd: a connection thread ended and can be joined
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<int> port_{0};
  std::thread acceptor_;

  std::mutex connections_mutex_;
  std::list<std::unique_ptr<Connection>> connections_;  // guarded by connections_mutex_
  std::size_t open_connections_ = 0;                     // guarded by connections_mutex_
};

}  // namespace promptetheus::devserver
