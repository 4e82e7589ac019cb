// A plain TCP connection to a loopback port, for tests that send what no HTTP client library
// would: a request head one byte at a time, a flood of header lines, pipelined requests, a
// request followed by silence.
//
//   RawConnection c(server.port());
//   c.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
//   std::string response = c.read_response();       // one response: head + Content-Length body
//   bool gone = c.closed_by_server(2s);             // EOF or reset within 2 s
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>

namespace promptetheus::testing {

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Sends all of `data`; false once the server has closed or reset the connection.
  bool send_all(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// Everything the server sends until it closes the connection, or until `quiet` passes
  /// without a byte.
  std::string read_until_closed(std::chrono::milliseconds quiet = std::chrono::seconds(10)) {
    std::string out = std::move(pending_);
    pending_.clear();
    while (receive_some(out, quiet) > 0) {
    }
    return out;
  }

  /// Whatever arrives first (at least one byte), or "" when the connection closes or `timeout`
  /// passes first.
  std::string read_some(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string out = std::move(pending_);
    pending_.clear();
    if (out.empty()) receive_some(out, timeout);
    return out;
  }

  /// One response: its head and a body of its Content-Length (none for the response to a HEAD
  /// request, `to_head` true). Empty when the connection closes or `timeout` passes first.
  std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                            bool to_head = false) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const std::size_t body = to_head ? 0 : content_length(pending_.substr(0, head_end));
        const std::size_t total = head_end + 4 + body;
        if (pending_.size() >= total) {
          std::string response = pending_.substr(0, total);
          pending_.erase(0, total);
          return response;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || receive_some(pending_, left) <= 0) return {};
    }
  }

  /// Whether the server closes (or resets) the connection within `timeout`; bytes it sends
  /// meanwhile are discarded.
  bool closed_by_server(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string ignored;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      const int n = receive_some(ignored, left);
      if (n == 0 || n == kReset) return true;
      if (n == kTimedOut) return false;
      ignored.clear();
    }
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Closes with a reset (RST) instead of the orderly FIN.
  void reset() {
    linger abort{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    close();
  }

  int fd() const { return fd_; }

 private:
  static constexpr int kTimedOut = -1;
  static constexpr int kReset = -2;

  // Appends what arrives within `timeout`: the byte count, 0 at end of stream, kTimedOut or
  // kReset.
  int receive_some(std::string& out, std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, timeout.count())));
    if (ready == 0) return kTimedOut;
    char buffer[64 * 1024];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return errno == EINTR ? receive_some(out, timeout) : kReset;
    out.append(buffer, static_cast<std::size_t>(n));
    return static_cast<int>(n);
  }

  static std::size_t content_length(const std::string& head) {
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(lower.substr(at + 17));
  }

  int fd_ = -1;
  std::string pending_;  // received bytes not yet returned
};

}  // namespace promptetheus::testing
