// One reusable libcurl easy handle for POSTing JSON to the ingestion API and for the CLI's
// GET and POST calls (STYLE.md §8.8):
// keep-alive, no signals, connect/total/low-speed timeouts, no redirects, TLS verification on,
// an explicit Content-Length (never chunked), and an abort flag that interrupt() can set from
// another thread to end an in-flight transfer promptly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "promptetheus/version.hpp"
#include "transport/http_outcome.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{10000};
  /// A transfer slower than low_speed_bytes per second for low_speed_time is aborted (0: never).
  long low_speed_bytes = 1024;
  std::chrono::seconds low_speed_time{10};
  std::string user_agent = "promptetheus-cpp/" PROMPTETHEUS_VERSION_STRING;
  /// Response bodies are read up to this many bytes; the rest is discarded (body_truncated).
  std::size_t max_response_bytes = 4u << 20;
};

struct PostRequest {
  std::string url;
  std::string_view body;
  bool gzip = false;             ///< body is gzip-compressed: adds Content-Encoding
  std::string_view api_key;      ///< adds `Authorization: Bearer <key>` when not empty
  /// Upper bound for this transfer on top of total_timeout (e.g. the caller's deadline).
  std::chrono::milliseconds timeout{0};
  /// More request headers ("Name: value"), sent after the standard ones.
  std::vector<std::string> extra_headers;
};

/// A POST whose body is a file's bytes, read from disk as they are sent (never held whole).
struct FilePostRequest {
  std::string url;
  std::string path;          ///< the file to send
  std::string content_type;  ///< its media type ("image/png")
  std::string_view api_key;  ///< adds `Authorization: Bearer <key>` when not empty
  std::chrono::milliseconds timeout{0};
  std::vector<std::string> extra_headers;
};

class CurlClient {
 public:
  explicit CurlClient(CurlOptions options);
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  /// Performs one POST. Never throws; failures are reported in the result.
  HttpResult post(const PostRequest& request) noexcept;
  /// Performs one POST streaming a file, with its size as Content-Length. A file that cannot be
  /// opened is a result with curl code CURLE_READ_ERROR and no status. Never throws.
  HttpResult post_file(const FilePostRequest& request) noexcept;
  /// Performs one GET, with `Authorization: Bearer <token>` when a token is given, bounded by
  /// total_timeout. Never throws.
  HttpResult get(const std::string& url, std::string_view bearer_token = {}) noexcept;

  /// Thread-safe: makes the in-flight transfer (and every later one) fail fast with
  /// CURLE_ABORTED_BY_CALLBACK until clear_abort().
  void abort() noexcept;
  void clear_abort() noexcept { abort_.store(false, std::memory_order_release); }
  bool aborted() const noexcept { return abort_.load(std::memory_order_acquire); }

 private:
  /// What a request sends: nothing (a GET), bytes in memory, or an open file of a known size.
  struct Body {
    const std::string_view* bytes = nullptr;
    bool gzip = false;
    std::FILE* file = nullptr;
    long long file_size = 0;
    const std::string* content_type = nullptr;  ///< default application/json
  };
  HttpResult perform(const std::string& url, const Body& body, std::string_view api_key,
                     std::chrono::milliseconds timeout, const std::vector<std::string>* extra_headers) noexcept;
  static int on_progress(void* self, long long, long long, long long, long long);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);

  CurlOptions options_;
  void* handle_ = nullptr;  // CURL*, kept out of this header's includes
  void* multi_ = nullptr;   // CURLM*: runs the transfers, interruptible by abort()
  std::atomic<bool> abort_{false};
  HttpResult* current_ = nullptr;  // the result being filled by the callbacks
};

/// curl's short text for a CURLcode ("Couldn't connect to server").
std::string curl_code_text(int curl_code);
/// Whether a CURLcode is the transfer's timeout running out.
bool curl_code_is_timeout(int curl_code) noexcept;

/// Percent-encodes `segment` as one URL path segment: everything outside the RFC 3986
/// unreserved set [A-Za-z0-9-._~] becomes %XX, so `/`, `?`, `#` and `..` tricks stay inside it.
std::string encode_path_segment(std::string_view segment);

/// Joins an endpoint (with or without a trailing slash or base path) and an absolute API path.
/// `http://h:1/base/` + `/api/traces` -> `http://h:1/base/api/traces` (no relative resolution).
std::string join_url(std::string_view endpoint, std::string_view path);

PROMPTETHEUS_END_DETAIL_NAMESPACE
