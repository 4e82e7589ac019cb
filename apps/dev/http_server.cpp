#include "dev/http_server.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>

#include <nlohmann/json.hpp>

namespace promptetheus::devserver {

namespace {

using Clock = std::chrono::steady_clock;

// What a wait, a read or a write on a connection came to.
enum class IoStatus {
  ok,
  closed,     // end of stream, reset, or any socket error: the connection is unusable
  timed_out,  // the deadline passed first
  stopping,   // the server is stopping
  too_long,   // read_line: the line is longer than allowed
};

// Reads and writes on one non-blocking connection socket. Every wait is a poll() on the socket
// and on the server's stop eventfd, with a deadline, so that no call blocks past its deadline or
// past stop(). Reads go through one fixed buffer, which bounds what a connection holds however
// much its client sends.
class Stream {
 public:
  static constexpr std::size_t kBufferSize = 64 * 1024;

  Stream(int fd, int stop_fd, const std::atomic<bool>& stopping)
      : fd_(fd), stop_fd_(stop_fd), stopping_(stopping), buffer_(new char[kBufferSize]) {}

  int fd() const { return fd_; }
  std::string_view buffered() const { return {buffer_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n) { begin_ += n; }

  // Receives more bytes into the buffer, waiting until `deadline` for them.
  IoStatus fill(Clock::time_point deadline) {
    // Checked before every receive, not only when waiting: a client that keeps sending would
    // otherwise keep a connection thread busy after stop().
    if (stopping_.load()) return IoStatus::stopping;
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (end_ == kBufferSize) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == kBufferSize) return IoStatus::too_long;  // callers bound their lines below this
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer_.get() + end_, kBufferSize - end_, 0);
      if (n > 0) {
        end_ += static_cast<std::size_t>(n);
        return IoStatus::ok;
      }
      if (n == 0) return IoStatus::closed;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::closed;
      const IoStatus waited = wait(POLLIN, deadline);
      if (waited != IoStatus::ok) return waited;
    }
  }

  // One line ending in LF, without the LF and a CR before it, of at most `max_bytes`.
  // `wire_bytes` is what the line took on the wire, its ending included.
  IoStatus read_line(std::size_t max_bytes, Clock::time_point deadline, std::string& line,
                     std::size_t& wire_bytes) {
    for (;;) {
      const std::string_view data = buffered();
      const auto lf = data.find('\n');
      if (lf != std::string_view::npos) {
        const std::size_t length = lf > 0 && data[lf - 1] == '\r' ? lf - 1 : lf;
        if (length > max_bytes) return IoStatus::too_long;
        line.assign(data.data(), length);
        wire_bytes = lf + 1;
        consume(lf + 1);
        return IoStatus::ok;
      }
      // Without its LF, the line has at least data.size() - 1 bytes (a CR may end it).
      if (data.size() >= max_bytes + 2) return IoStatus::too_long;
      const IoStatus filled = fill(deadline);
      if (filled != IoStatus::ok) return filled;
    }
  }

  // Sends `first` then `second`; each send must make progress within `inactivity`.
  IoStatus write_all(std::string_view first, std::string_view second,
                     std::chrono::milliseconds inactivity) {
    while (!first.empty() || !second.empty()) {
      iovec parts[2];
      int count = 0;
      for (std::string_view part : {first, second}) {
        if (part.empty()) continue;
        parts[count].iov_base = const_cast<char*>(part.data());
        parts[count].iov_len = part.size();
        ++count;
      }
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = static_cast<std::size_t>(count);
      // MSG_NOSIGNAL: a client that went away must not raise SIGPIPE, which kills the process.
      const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (n >= 0) {
        std::size_t sent = static_cast<std::size_t>(n);
        const std::size_t from_first = std::min(sent, first.size());
        first.remove_prefix(from_first);
        second.remove_prefix(sent - from_first);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::closed;
      const IoStatus waited = wait(POLLOUT, Clock::now() + inactivity);
      if (waited != IoStatus::ok) return waited;
    }
    return IoStatus::ok;
  }

  // Waits until the socket is ready for `events` (or has an error to report), the deadline
  // passes, or the server stops.
  IoStatus wait(short events, Clock::time_point deadline) {
    for (;;) {
      if (stopping_.load()) return IoStatus::stopping;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return IoStatus::timed_out;
      pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
      // +1: poll() rounds down, and waking just before the deadline would only loop once more.
      const int timeout_ms = static_cast<int>(std::min<long long>(left.count() + 1, INT_MAX));
      const int ready = ::poll(fds, 2, timeout_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return IoStatus::closed;
      }
      if (fds[1].revents != 0) return IoStatus::stopping;
      if (fds[0].revents != 0) return IoStatus::ok;
    }
  }

 private:
  int fd_;
  int stop_fd_;
  const std::atomic<bool>& stopping_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;  // unread bytes are [begin_, end_)
  std::size_t end_ = 0;
};

enum class Framing { none, length, chunked };

// A request body on a connection: Content-Length or chunked framing, `100 Continue` before the
// first read when the client waits for it, and a deadline that grows with what has arrived.
class SocketBodyReader final : public BodyReader {
 public:
  SocketBodyReader(Stream& stream, const ConnectionLimits& limits, Framing framing,
                   std::uint64_t length, bool expect_continue)
      : stream_(stream), limits_(limits), framing_(framing), length_(length),
        expect_continue_(expect_continue), complete_(framing == Framing::none) {}

  bool declared() const override { return framing_ != Framing::none; }
  std::optional<std::uint64_t> declared_length() const override {
    if (framing_ == Framing::length) return length_;
    return std::nullopt;
  }
  Failure failure() const override { return failure_; }
  bool complete() const override { return complete_; }

  bool read(const Sink& sink) override {
    if (framing_ == Framing::none) return true;
    if (started_) return false;
    started_ = true;
    if (expect_continue_) {
      const IoStatus sent =
          stream_.write_all("HTTP/1.1 100 Continue\r\n\r\n", {}, limits_.write_timeout);
      if (sent != IoStatus::ok) return fail(sent);
    }
    start_ = Clock::now();
    const bool whole = framing_ == Framing::length ? read_length(sink) : read_chunked(sink);
    if (whole) complete_ = true;
    return whole;
  }

 private:
  // A body may take body_timeout, plus a second per body_min_bytes_per_second received: a large
  // upload over a slow link gets the time it needs, a trickle of bytes does not.
  Clock::time_point deadline() const {
    auto allowed = std::chrono::duration_cast<Clock::duration>(limits_.body_timeout);
    if (limits_.body_min_bytes_per_second > 0) {
      allowed += std::chrono::milliseconds(received_ * 1000 / limits_.body_min_bytes_per_second);
    }
    return start_ + allowed;
  }

  bool fail(IoStatus status) {
    switch (status) {
      case IoStatus::timed_out: failure_ = Failure::timed_out; break;
      case IoStatus::stopping: failure_ = Failure::stopping; break;
      case IoStatus::too_long: failure_ = Failure::malformed; break;
      default: failure_ = Failure::closed; break;
    }
    return false;
  }

  bool malformed() {
    failure_ = Failure::malformed;
    return false;
  }

  // Passes the next `count` bytes of the connection to `sink`.
  bool forward(std::uint64_t count, const Sink& sink) {
    while (count > 0) {
      if (stream_.buffered().empty()) {
        const IoStatus filled = stream_.fill(deadline());
        if (filled != IoStatus::ok) return fail(filled);
      }
      const std::string_view available = stream_.buffered();
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(available.size(), count));
      stream_.consume(n);  // the bytes stay valid until the next fill
      count -= n;
      received_ += n;
      if (!sink(available.data(), n)) return false;
    }
    return true;
  }

  bool read_length(const Sink& sink) { return forward(length_, sink); }

  // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF, ending with a zero-size chunk and a
  // trailer section (RFC 9112 §7.1). Extensions and trailer fields are read and ignored.
  bool read_chunked(const Sink& sink) {
    std::string line;
    std::size_t wire_bytes = 0;
    for (;;) {
      IoStatus status = stream_.read_line(limits_.head.max_header_line_bytes, deadline(), line, wire_bytes);
      if (status != IoStatus::ok) return fail(status);
      std::uint64_t size = 0;
      std::size_t digits = 0;
      for (; digits < line.size(); ++digits) {
        const char c = line[digits];
        int value = -1;
        if (c >= '0' && c <= '9') value = c - '0';
        if (c >= 'a' && c <= 'f') value = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') value = c - 'A' + 10;
        if (value < 0) break;
        size = size * 16 + static_cast<std::uint64_t>(value);
      }
      // 15 hex digits cannot overflow; no body within any limit needs more.
      if (digits == 0 || digits > 15) return malformed();
      const std::string rest = trim(line.substr(digits));
      if (!rest.empty() && rest[0] != ';') return malformed();
      if (size == 0) break;
      if (!forward(size, sink)) return false;
      status = stream_.read_line(0, deadline(), line, wire_bytes);  // the CRLF after the data
      if (status != IoStatus::ok) return fail(status);
    }
    // The trailer section, bounded like a head.
    std::size_t fields = 0;
    std::size_t bytes = 0;
    for (;;) {
      const IoStatus status =
          stream_.read_line(limits_.head.max_header_line_bytes, deadline(), line, wire_bytes);
      if (status != IoStatus::ok) return fail(status);
      bytes += wire_bytes;
      if (line.empty()) return true;
      if (++fields > limits_.head.max_header_fields || bytes > limits_.head.max_head_bytes) {
        return malformed();
      }
    }
  }

  Stream& stream_;
  const ConnectionLimits& limits_;
  Framing framing_;
  std::uint64_t length_;
  bool expect_continue_;
  bool complete_;
  bool started_ = false;
  Failure failure_ = Failure::none;
  std::uint64_t received_ = 0;
  Clock::time_point start_;
};

std::string json_detail(const std::string& detail) {
  return nlohmann::json{{"detail", detail}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response error_response(const HttpError& error) {
  Response response;
  response.status = error.status;
  response.set_content(json_detail(error.detail), "application/json");
  return response;
}

// An IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Names are spelled out
// rather than taken from strftime, whose %a and %b follow the locale.
std::string http_date() {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

bool is_framing_header(const std::string& name) {
  const std::string lower = lowercase(name);
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
         lower == "date";
}

std::string response_head(const Response& response, std::size_t content_length, bool keep_alive,
                          int minor_version) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     reason_phrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    // The server owns the framing headers; and no value may split the response.
    if (is_framing_header(name)) continue;
    if ((name + value).find_first_of("\r\n") != std::string::npos) continue;
    head += name + ": " + value + "\r\n";
  }
  head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += "Date: " + http_date() + "\r\n";
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (minor_version == 0) {
    head += "Connection: keep-alive\r\n";  // HTTP/1.0 closes unless told otherwise
  }
  head += "\r\n";
  return head;
}

// How the request's body is framed (RFC 9112 §6.3). A missing, empty or zero Content-Length
// means no body (spec §5 "Body parsing"). Both framings at once are refused: the disagreement is
// how requests are smuggled past proxies.
std::optional<HttpError> body_framing(const Request& request, Framing& framing, std::uint64_t& length) {
  framing = Framing::none;
  length = 0;
  const std::vector<std::string> encodings = request.headers.all("Transfer-Encoding");
  const std::vector<std::string> lengths = request.headers.all("Content-Length");
  if (!encodings.empty()) {
    if (!lengths.empty()) return HttpError{400, "both Content-Length and Transfer-Encoding"};
    if (encodings.size() != 1 || lowercase(trim(encodings[0])) != "chunked") {
      std::string listed;
      for (const std::string& e : encodings) listed += (listed.empty() ? "" : ", ") + trim(e);
      return HttpError{501, "unsupported transfer-encoding: " + listed};
    }
    framing = Framing::chunked;
    return std::nullopt;
  }
  std::optional<std::uint64_t> declared;
  for (const std::string& value : lengths) {
    const std::string digits = trim(value);
    if (digits.empty()) continue;
    if (digits.find_first_not_of("0123456789") != std::string::npos) {
      return HttpError{400, "invalid Content-Length"};
    }
    // Lengths too large to represent are kept as the largest one: refused as too large later.
    const std::uint64_t parsed = digits.size() > 19 ? UINT64_MAX : std::stoull(digits);
    if (declared && *declared != parsed) return HttpError{400, "invalid Content-Length"};
    declared = parsed;
  }
  if (declared && *declared > 0) {
    framing = Framing::length;
    length = *declared;
  }
  return std::nullopt;
}

bool wants_keep_alive(const Request& request) {
  std::string connection;
  for (const std::string& value : request.headers.all("Connection")) connection += value + ",";
  if (has_token(connection, "close")) return false;
  if (request.minor_version == 0) return has_token(connection, "keep-alive");
  return true;
}

enum class HeadOutcome { request, none, refused };

struct HeadResult {
  HeadOutcome outcome;
  HttpError error{0, {}};
};

// Reads one request head into `request`. `none` when the connection ends, idles out or the
// server stops before a request begins (nothing to answer); `refused` with the error to answer.
HeadResult read_head(Stream& stream, const ConnectionLimits& limits, Request& request) {
  if (stream.buffered().empty()) {
    const IoStatus first = stream.fill(Clock::now() + limits.idle_timeout);
    if (first != IoStatus::ok) return {HeadOutcome::none};
  }
  const auto refused = [](int status, std::string detail) {
    return HeadResult{HeadOutcome::refused, HttpError{status, std::move(detail)}};
  };
  const HeadLimits& bounds = limits.head;
  const std::string too_large = "request header exceeds " + std::to_string(bounds.max_head_bytes) + " bytes";
  const auto deadline = Clock::now() + limits.head_timeout;
  bool have_request_line = false;
  std::size_t head_bytes = 0;
  std::string line;
  for (;;) {
    const std::size_t line_limit =
        have_request_line ? bounds.max_header_line_bytes : bounds.max_request_line_bytes;
    const std::size_t allowance = bounds.max_head_bytes - std::min(head_bytes, bounds.max_head_bytes);
    std::size_t wire_bytes = 0;
    const IoStatus status = stream.read_line(std::min(line_limit, allowance), deadline, line, wire_bytes);
    if (status == IoStatus::too_long) {
      if (allowance < line_limit) return refused(431, too_large);
      if (!have_request_line) {
        return refused(414, "request line exceeds " + std::to_string(line_limit) + " bytes");
      }
      return refused(431, "request header line exceeds " + std::to_string(line_limit) + " bytes");
    }
    if (status == IoStatus::timed_out) return refused(408, "request header not received in time");
    if (status != IoStatus::ok) return {HeadOutcome::none};
    head_bytes += wire_bytes;
    if (head_bytes > bounds.max_head_bytes) return refused(431, too_large);

    if (!have_request_line) {
      if (line.empty()) continue;  // empty lines before a request line are ignored (RFC 9112 §2.2)
      if (auto error = parse_request_line(line, request)) return {HeadOutcome::refused, *error};
      have_request_line = true;
      continue;
    }
    if (line.empty()) return {HeadOutcome::request};
    if (request.headers.size() >= bounds.max_header_fields) {
      return refused(431, "request header has more than " + std::to_string(bounds.max_header_fields) +
                              " fields");
    }
    if (auto error = parse_header_line(line, request.headers)) return {HeadOutcome::refused, *error};
  }
}

// After answering a request whose rest was not read: stop sending, then read and discard what
// the client still sends, within bounds, before the socket is closed. Closing a socket with
// unread input resets the connection, and the reset can destroy the answer before the client
// has read it.
void linger(Stream& stream, const ConnectionLimits& limits) {
  ::shutdown(stream.fd(), SHUT_WR);
  const auto deadline = Clock::now() + limits.linger_timeout;
  std::size_t discarded = 0;
  while (discarded <= limits.linger_max_bytes) {
    discarded += stream.buffered().size();
    stream.consume(stream.buffered().size());
    if (stream.fill(deadline) != IoStatus::ok) return;
  }
}

void signal_eventfd(int fd) {
  const std::uint64_t one = 1;
  if (::write(fd, &one, sizeof one) < 0) {
    // Cannot fail short of a closed descriptor: the counter would have to reach 2^64 - 1.
  }
}

void close_descriptor(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

struct HttpServer::Connection {
  int fd = -1;
  std::thread thread;
  bool finished = false;  // guarded by connections_mutex_; the thread is then ready to be joined
};

HttpServer::HttpServer(ConnectionLimits limits, Handler handler)
    : limits_(std::move(limits)), handler_(std::move(handler)) {
  // A line must fit in a connection's read buffer, with its CRLF.
  const std::size_t longest_line = Stream::kBufferSize - 2;
  limits_.head.max_request_line_bytes = std::min(limits_.head.max_request_line_bytes, longest_line);
  limits_.head.max_header_line_bytes = std::min(limits_.head.max_header_line_bytes, longest_line);
  limits_.max_connections = std::max<std::size_t>(1, limits_.max_connections);
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::start(const std::string& host, int port) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  finished_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const auto fail = [this](const std::string& message, int error_number) {
    close_descriptor(listen_fd_);
    close_descriptor(stop_fd_);
    close_descriptor(finished_fd_);
    return ListenError(message, error_number);
  };
  if (stop_fd_ < 0 || finished_fd_ < 0) throw fail("cannot create an eventfd", errno);

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr) {
    throw fail("unknown host " + host, 0);
  }
  int error_number = 0;
  for (addrinfo* address = found; address != nullptr && listen_fd_ < 0; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address->ai_protocol);
    if (fd < 0) {
      error_number = errno;
      continue;
    }
    // SO_REUSEADDR only: a restart may bind over connections in TIME_WAIT. SO_REUSEPORT would
    // let a second server bind the same port and split the requests, and so the data, between
    // two databases.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // SOMAXCONN (the kernel caps it at net.core.somaxconn): a burst of hundreds of clients
    // connecting at once waits in the queue instead of having its connections refused.
    if (::bind(fd, address->ai_addr, address->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      error_number = errno;
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) throw fail(std::strerror(error_number), error_number);

  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
    throw fail(std::strerror(errno), errno);
  }
  const int bound_port = bound.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  try {
    acceptor_ = std::thread([this] { accept_loop(); });
  } catch (const std::system_error& e) {
    throw fail(e.what(), e.code().value());
  }
  port_ = bound_port;
  running_ = true;
  return bound_port;
}

void HttpServer::stop() noexcept {
  if (acceptor_.joinable()) {
    stopping_ = true;
    signal_eventfd(stop_fd_);
    acceptor_.join();
    // Nothing accepts any more: connecting clients are refused from here on.
    close_descriptor(listen_fd_);
    std::list<std::unique_ptr<Connection>> remaining;
    {
      std::lock_guard<std::mutex> lock(connections_mutex_);
      remaining.swap(connections_);
    }
    for (auto& connection : remaining) connection->thread.join();
  }
  close_descriptor(listen_fd_);
  close_descriptor(stop_fd_);
  close_descriptor(finished_fd_);
  running_ = false;
  port_ = 0;
}

void HttpServer::accept_loop() {
  pollfd fds[3] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}, {finished_fd_, POLLIN, 0}};
  while (!stopping_.load()) {
    for (pollfd& p : fds) p.revents = 0;
    if (::poll(fds, 3, -1) < 0) {
      // EINTR, or a lack of kernel memory that a moment may cure: never end the loop while the
      // server is meant to be running.
      if (errno != EINTR) ::poll(&fds[1], 1, 10);
      continue;
    }
    if (fds[1].revents != 0) break;
    try {
      if (fds[2].revents != 0) {
        std::uint64_t count = 0;
        if (::read(finished_fd_, &count, sizeof count) < 0) {
          // Nothing to read: another wake already took the count.
        }
        join_finished_connections();
      }
      if (fds[0].revents != 0) accept_pending();
    } catch (...) {
      // Out of memory, say: the acceptor goes on (an exception leaving a thread ends the process).
    }
  }
}

void HttpServer::accept_pending() {
  // At most a batch per wake, so that stop() and finished connections are seen during a flood.
  for (int batch = 0; batch < 64; ++batch) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the connection stays queued and the listening socket
        // stays readable, so wait a little (or for stop) rather than spin.
        pollfd stop{stop_fd_, POLLIN, 0};
        ::poll(&stop, 1, 100);
      }
      return;  // EAGAIN: nothing more is queued
    }
    // Otherwise Nagle's algorithm and the client's delayed ACK stall each response ~40 ms.
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);

    bool started = false;
    try {
      std::lock_guard<std::mutex> lock(connections_mutex_);
      if (open_connections_ < limits_.max_connections) {
        // Listed before its thread starts, so that no failure can drop a running thread.
        connections_.push_back(std::make_unique<Connection>());
        Connection& c = *connections_.back();
        c.fd = fd;
        try {
          // The thread cannot mark itself finished before this block ends: it needs the lock.
          c.thread = std::thread([this, &c] { serve(c); });
        } catch (...) {
          connections_.pop_back();
          throw;
        }
        ++open_connections_;
        started = true;
      }
    } catch (...) {
      // No thread (or no memory) for it: refused like a connection beyond the cap.
    }
    if (!started) refuse(fd, "too many connections");
  }
}

void HttpServer::refuse(int fd, const char* detail) {
  // Wait briefly for the request and read it, so that closing does not reset the connection
  // (and destroy the answer) because of unread input. Bounded: the acceptor is waiting.
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  ::poll(fds, 2, 20);
  char discard[16 * 1024];
  for (int reads = 0; reads < 16 && ::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0; ++reads) {
  }
  try {
    const std::string body = json_detail(detail);
    Response response;
    response.status = 503;
    response.set_header("Content-Type", "application/json");
    const std::string message = response_head(response, body.size(), false, 1) + body;
    if (::send(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      // The client is gone already; nothing to tell it.
    }
  } catch (...) {
    // No memory for the answer: the connection is closed without one.
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

void HttpServer::join_finished_connections() {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      const auto next = std::next(it);
      if ((*it)->finished) finished.splice(finished.end(), connections_, it);
      it = next;
    }
  }
  for (auto& connection : finished) connection->thread.join();
}

void HttpServer::serve(Connection& connection) {
  try {
    Stream stream(connection.fd, stop_fd_, stopping_);
    for (;;) {
      Request request;
      HeadResult head = read_head(stream, limits_, request);
      if (head.outcome == HeadOutcome::none) break;
      Framing framing = Framing::none;
      std::uint64_t length = 0;
      if (head.outcome == HeadOutcome::request) {
        if (auto error = body_framing(request, framing, length)) {
          head = {HeadOutcome::refused, *error};
        }
      }
      if (head.outcome == HeadOutcome::refused) {
        const Response response = error_response(head.error);
        if (stream.write_all(response_head(response, response.body.size(), false, 1), response.body,
                             limits_.write_timeout) == IoStatus::ok) {
          linger(stream, limits_);
        }
        break;
      }

      // HEAD is answered as the GET of the same target, without the body (RFC 9110 §9.3.2).
      const bool head_only = request.method == "HEAD";
      if (head_only) request.method = "GET";
      // HTTP/1.0 clients do not know 100 Continue (RFC 9110 §10.1.1).
      const bool expect_continue =
          request.minor_version >= 1 && has_token(request.get_header_value("Expect"), "100-continue");
      SocketBodyReader body(stream, limits_, framing, length, expect_continue);
      request.body = &body;

      Response response;
      try {
        handler_(request, response);
      } catch (...) {
        // The dev server's handler catches and logs its own exceptions; this is the last guard.
        response = error_response(HttpError{500, "internal server error"});
      }
      // A body not read to its end leaves the connection at an unknown position: it closes.
      const std::string* response_connection = response.headers.find("Connection");
      const bool keep_alive = wants_keep_alive(request) &&
                              !(response_connection && has_token(*response_connection, "close")) &&
                              body.complete() && !stopping_.load();
      const std::string head_bytes =
          response_head(response, response.body.size(), keep_alive, request.minor_version);
      const IoStatus written = stream.write_all(head_bytes, head_only ? std::string_view() : response.body,
                                                limits_.write_timeout);
      if (written != IoStatus::ok) break;
      if (!keep_alive) {
        if (!body.complete()) linger(stream, limits_);
        break;
      }
    }
  } catch (...) {
    // Out of memory while serving: the connection closes; the server goes on.
  }
  ::close(connection.fd);
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    connection.finished = true;
    --open_connections_;
  }
  signal_eventfd(finished_fd_);
}

}  // namespace promptetheus::devserver
