// HTTP/1.1 messages of the dev server (RFC 9110, 9112): a request as the handlers see it (method,
// raw target, headers, a body read on demand), the response they fill in, and the parsing of a
// request head's lines. No sockets here: apps/dev/http_server.hpp reads the bytes, enforces the
// limits and timeouts, and writes the responses.
//
// The member names the handlers use (method, target, get_header_value, has_header, status,
// set_header, set_content) match those of the HTTP library the server used before, so that the
// handlers in dev_server.cpp read the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace promptetheus::devserver {

/// Header values: ASCII-lowercased, and trimmed of spaces and tabs.
std::string lowercase(std::string s);
std::string trim(const std::string& s);

/// An HTTP failure to report as {"detail": message}.
struct HttpError {
  int status;
  std::string detail;
};

/// Header fields in the order received. Names compare case-insensitively; a repeated field keeps
/// every value, and lookups return the first.
class Headers {
 public:
  /// The first value of `name`, or nullptr.
  const std::string* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  /// Every value of `name`, in order.
  std::vector<std::string> all(std::string_view name) const;
  void add(std::string name, std::string value);
  /// Replaces every value of `name` with this one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);
  std::size_t size() const { return fields_.size(); }

  using Field = std::pair<std::string, std::string>;
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

/// Whether a comma-separated header value (Connection, Expect...) lists `token`, ignoring case.
bool has_token(const std::string& list, std::string_view token);

/// A request body, read from the connection as the handler asks for it. Reading is bounded in
/// time by the server (see ConnectionLimits in http_server.hpp); sizes are bounded by the
/// reader's caller (read_body in request_body.hpp).
class BodyReader {
 public:
  /// Receives the body piece by piece; returns false to stop reading.
  using Sink = std::function<bool(const char* data, std::size_t size)>;
  enum class Failure {
    none,
    timed_out,  // the body did not arrive in time
    malformed,  // bad chunked framing
    closed,     // the client closed or reset the connection
    stopping,   // the server is stopping
  };

  virtual ~BodyReader() = default;
  /// Whether the request has a body: a non-zero Content-Length, or chunked framing.
  virtual bool declared() const = 0;
  /// The Content-Length, when the body has one (nullopt for chunked bodies and none).
  virtual std::optional<std::uint64_t> declared_length() const = 0;
  /// Passes the body to `sink` as it arrives (after `100 Continue` when the client expects it).
  /// Returns true once the whole body was read; false when `sink` returned false or reading
  /// failed (see failure()). A body can be read once; later calls return false.
  virtual bool read(const Sink& sink) = 0;
  virtual Failure failure() const = 0;
  /// Whether every byte of the body has been read (true for a request without one).
  virtual bool complete() const = 0;
};

struct Request {
  std::string method;     // "GET", "POST"... (a HEAD request is handled as its GET, see http_server.hpp)
  std::string target;     // the request target as sent: path and query, percent-encoding intact
  int minor_version = 1;  // HTTP/1.<minor_version>
  Headers headers;
  BodyReader* body = nullptr;  // set by the server for every request it hands to a handler

  /// The first value of the header, or "" when absent.
  std::string get_header_value(std::string_view name) const;
  bool has_header(std::string_view name) const { return headers.contains(name); }
};

struct Response {
  int status = 200;
  Headers headers;  // the server adds Content-Length, Date and Connection itself
  std::string body;

  /// Replaces any value of the header.
  void set_header(std::string name, std::string value) { headers.set(std::move(name), std::move(value)); }
  void set_content(std::string content, std::string content_type);
};

/// The bounds of a request head (request line and header section). Beyond them the request is
/// refused without reading further: 414 for the request line, 431 for the header section.
struct HeadLimits {
  std::size_t max_request_line_bytes = 8192;  // without its CRLF
  std::size_t max_header_line_bytes = 8192;   // one field line, without its CRLF
  std::size_t max_header_fields = 100;
  std::size_t max_head_bytes = 64 * 1024;     // request line + header section, line ends included
};

/// Parses a request line ("GET /x HTTP/1.1", its CRLF removed) into `out`: 400 `malformed request
/// line`, or 505 for a well-formed version other than HTTP/1.0 and HTTP/1.1.
std::optional<HttpError> parse_request_line(std::string_view line, Request& out);

/// Parses one header field line ("Name: value", its CRLF removed) and adds it to `out`: 400
/// `malformed header line` for a bad name, whitespace before the colon, a continuation line
/// (obsolete folding) or a control character in the value.
std::optional<HttpError> parse_header_line(std::string_view line, Headers& out);

/// The reason phrase of a status code ("Not Found"); "Unknown" for codes the server never sends.
const char* reason_phrase(int status);

}  // namespace promptetheus::devserver
