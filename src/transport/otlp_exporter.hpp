// Sends OTLP/HTTP JSON requests to a traces URL from a thread of its own, so that an OpenTelemetry
// endpoint that is slow, down or silent never holds the worker thread or the other destination.
//
// Each request is first written to a file in an outbox directory (<spool_dir>/otlp/), then posted
// (gzip when large) and removed once the receiver took it. A request the endpoint could not take
// now (network error, timeout, 408, 429, 5xx) stays and is retried with full-jitter backoff
// (Retry-After honoured), also by a later process with the same spool directory; one it refuses
// for good (another 4xx) is moved to <spool_dir>/dead-letter/otlp/ beside a `.reason` file. The
// outbox is bounded: past max_outbox_bytes the oldest requests are removed and their spans
// counted as dropped.
#pragma once

#include "promptetheus/export.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/delivery_accounting.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class CurlClient;
class GzipStream;

struct OtlpExporterConfig {
  std::string traces_url;                  ///< the full URL (otlp_traces_url)
  std::vector<std::string> extra_headers;  ///< "Name: value"
  std::string outbox_dir;                  ///< <spool_dir>/otlp
  std::string dead_letter_dir;             ///< <spool_dir>/dead-letter/otlp
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t compress_min_bytes = 1024;  ///< gzip bodies at least this big; 0 = never
  std::uint64_t max_outbox_bytes = 64ull << 20;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30000};
};

/// The OTLP outbox's directory name under the spool directory (and under its dead-letter/).
inline constexpr const char* kOtlpOutboxDirName = "otlp";

/// The traces URL of an OTLP/HTTP endpoint: a base URL without a path gets /v1/traces, as the
/// OpenTelemetry exporters treat OTEL_EXPORTER_OTLP_ENDPOINT; a URL with a path is used as it is.
std::string otlp_traces_url(const std::string& endpoint);

/// The rejected span count of an ExportTraceServiceResponse JSON body (partialSuccess, an int64
/// written as a string or a number), 0 when none; `message` gets its errorMessage.
std::int64_t otlp_rejected_spans(std::string_view body, std::string* message = nullptr);

class OtlpExporter {
 public:
  /// Starts the sending thread, which sends what an earlier process left in the outbox first.
  OtlpExporter(OtlpExporterConfig config, std::shared_ptr<TransportHealth> health);
  /// Stops the thread at once (an in-flight request is aborted; its file stays).
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  /// Writes one request of `spans` spans to the outbox and wakes the sender. Any thread; never
  /// blocks on the network. False when the file could not be written (the spans are counted as
  /// dropped).
  bool enqueue(const std::string& body, std::size_t spans) noexcept;
  /// Starts the last pass (backoff ignored), which ends by `deadline`. Does not wait.
  void start_closing(const Deadline& deadline) noexcept;
  /// Sends what it can until `deadline`, then stops the thread; what is left stays in the
  /// outbox for the next process. Returns by the deadline (plus one aborted transfer's return).
  void close(const Deadline& deadline) noexcept;
  /// Aborts an in-flight request (it stays in the outbox). Any thread.
  void interrupt() noexcept;

 private:
  enum class Sent { taken, retry, refused, gone };
  void run() noexcept;
  Sent send_file(const std::string& name, const Deadline& deadline);
  void enforce_cap() noexcept;

  OtlpExporterConfig config_;
  std::shared_ptr<TransportHealth> health_;
  std::unique_ptr<CurlClient> client_;
  std::unique_ptr<GzipStream> gzip_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool work_ = true;      // files may be waiting (guarded by mutex_)
  bool closing_ = false;  // close() called (guarded by mutex_)
  Clock::time_point close_deadline_{};
  std::atomic<bool> stop_{false};
  std::uint64_t counter_ = 0;  // file names (guarded by mutex_)
  std::optional<std::chrono::seconds> retry_after_;  // of the last failed request (sender thread)
  std::thread thread_;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
