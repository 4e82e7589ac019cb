// A real dev ingestion server for tests, started in-process on 127.0.0.1 with an ephemeral port and
// a fresh temporary data dir (database + artifacts), stopped and deleted when the fixture goes out
// of scope.
//
//   DevServerFixture server;                       // listening once constructed
//   std::string url = server.base_url();           // "http://127.0.0.1:<port>" for the SDK
//   server.create_trace("sess_a");                 // or let the SDK create it
//   ... send events with the SDK (API key server.api_key(), i.e. "pt_dev_key") ...
//   auto events = server.events("sess_a");        // stored events, sorted by seq
//   server.stop(); ... server.restart();           // simulate an outage on the same port
//
// The read helpers go through the HTTP read routes with the console token, as a user would.
// Construction throws std::runtime_error if the server cannot start (the test then fails).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev/dev_server.hpp"
#include "dev/http.hpp"

namespace promptetheus::testing {

class DevServerFixture {
 public:
  /// `tweak` may adjust the options (limits, keys) before the server starts; host, port and
  /// data dir are set by the fixture.
  explicit DevServerFixture(
      const std::function<void(devserver::DevServerOptions&)>& tweak = nullptr) {
    char pattern[] = "/tmp/promptetheus-dev-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    data_dir_ = pattern;
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.data_dir = data_dir_.string();
    if (tweak) tweak(options_);
    options_.port = server_.start(options_);
  }

  ~DevServerFixture() {
    server_.stop();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }

  DevServerFixture(const DevServerFixture&) = delete;
  DevServerFixture& operator=(const DevServerFixture&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(options_.port); }
  int port() const { return options_.port; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string api_key() const { return "pt_dev_key"; }
  std::string console_token() const { return "pt_console_token"; }
  devserver::DevServer& server() { return server_; }

  /// Stops serving (connections are refused) but keeps the data; restart() resumes on the same
  /// port with the same database.
  void stop() { server_.stop(); }
  void restart() { server_.start(options_); }

  /// A client for this server with a 10 s timeout. Set headers per request.
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", options_.port);
    c.set_connection_timeout(10);
    c.set_read_timeout(10);
    c.set_write_timeout(10);
    return c;
  }

  /// Percent-encodes one path segment (everything but unreserved characters).
  static std::string encode_segment(const std::string& segment) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : segment) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }

  /// Creates (or overwrites) a trace with the API key; returns the HTTP status (201 on success).
  int create_trace(const std::string& id, const std::string& user_goal = "test goal") const {
    auto c = client();
    auto res = c.Post("/api/traces", {{"Authorization", "Bearer " + api_key()}},
                      nlohmann::json{{"id", id}, {"user_goal", user_goal}, {"agent", "test"}}.dump(),
                      "application/json");
    return res ? res->status : -1;
  }

  /// The stored events of a trace, sorted by seq; nothing if the trace does not exist.
  std::optional<std::vector<nlohmann::json>> events(const std::string& trace_id) const {
    auto body = read("/api/traces/" + encode_segment(trace_id) + "/events");
    if (!body) return std::nullopt;
    return (*body)["events"].get<std::vector<nlohmann::json>>();
  }

  /// The trace row as the server stores it; nothing if it does not exist.
  std::optional<nlohmann::json> trace(const std::string& trace_id) const {
    auto body = read("/api/traces/" + encode_segment(trace_id));
    if (!body) return std::nullopt;
    return (*body)["trace"];
  }

 private:
  std::optional<nlohmann::json> read(const std::string& path) const {
    auto c = client();
    auto res = c.Get(path.c_str(), {{"Authorization", "Bearer " + console_token()}});
    if (!res) throw std::runtime_error("dev server did not answer GET " + path);
    if (res->status == 404) return std::nullopt;
    if (res->status != 200) {
      throw std::runtime_error("GET " + path + " -> " + std::to_string(res->status) + " " +
                               res->body);
    }
    return nlohmann::json::parse(res->body);
  }

  std::filesystem::path data_dir_;
  devserver::DevServerOptions options_;
  devserver::DevServer server_;
};

/// A valid event envelope (user_message) for `session`; the key is `<session>:test:<seq>` unless
/// given.
inline nlohmann::json make_event(const std::string& session, std::int64_t seq,
                                 const std::string& key = "") {
  return {{"type", "user_message"},
          {"session_id", session},
          {"timestamp", "2026-01-02T03:04:05.000006Z"},
          {"seq", seq},
          {"idempotency_key", key.empty() ? session + ":test:" + std::to_string(seq) : key},
          {"payload", {{"content", "message " + std::to_string(seq)}}}};
}

/// gzip-compresses `data` (one gzip member).
inline std::string gzip_compress(const std::string& data) {
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

/// Sends `request` byte for byte on a new loopback connection and returns everything the server
/// answers until it closes the connection (send "Connection: close"). For requests an HTTP
/// client library would not produce: no Content-Length, odd encodings, raw targets.
inline std::string raw_http(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return response;
}

}  // namespace promptetheus::testing
