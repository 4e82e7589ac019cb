#include "transport/otlp_exporter.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/files.hpp"
#include "core/log.hpp"
#include "transport/curl_client.hpp"
#include "transport/gzip_stream.hpp"
#include "transport/http_outcome.hpp"
#include "transport/retry_policy.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace fs = std::filesystem;

std::string otlp_traces_url(const std::string& endpoint) {
  const auto scheme = endpoint.find("://");
  const auto path = endpoint.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return endpoint + "/v1/traces";
  if (endpoint.size() == path + 1) return endpoint + "v1/traces";
  return endpoint;
}

std::int64_t otlp_rejected_spans(std::string_view body, std::string* message) {
  const auto answer = nlohmann::json::parse(body, nullptr, false);
  if (!answer.is_object()) return 0;
  const auto partial = answer.find("partialSuccess");
  if (partial == answer.end() || !partial->is_object()) return 0;
  std::int64_t rejected = 0;
  const auto count = partial->find("rejectedSpans");
  if (count != partial->end() && count->is_number_integer()) rejected = count->get<std::int64_t>();
  if (count != partial->end() && count->is_string()) rejected = std::atoll(count->get<std::string>().c_str());
  const auto why = partial->find("errorMessage");
  if (message && why != partial->end() && why->is_string()) *message = why->get<std::string>();
  return std::max<std::int64_t>(rejected, 0);
}

namespace {

// "<unix ns, 20 digits>-<pid>-<counter>-<spans>.json": names sort in the order written, and
// carry their span count so that counting needs no parse.
std::size_t spans_of(const std::string& name) {
  const auto dash = name.rfind('-');
  const auto dot = name.rfind(".json");
  if (dash == std::string::npos || dot == std::string::npos || dot <= dash) return 0;
  return static_cast<std::size_t>(std::strtoull(name.c_str() + dash + 1, nullptr, 10));
}

bool is_request_name(const std::string& name) {
  return !name.empty() && name[0] != '.' && name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
}

std::vector<std::string> request_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (is_request_name(name)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool read_file(int fd, std::string& out) {
  out.clear();
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

OtlpExporter::OtlpExporter(OtlpExporterConfig config, std::shared_ptr<TransportHealth> health)
    : config_(std::move(config)), health_(std::move(health)) {
  CurlOptions curl;
  curl.connect_timeout = config_.connect_timeout;
  curl.total_timeout = config_.request_timeout;
  client_ = std::make_unique<CurlClient>(curl);
  gzip_ = std::make_unique<GzipStream>();
  make_private_dirs(config_.outbox_dir);
  std::uint64_t pending = 0;
  for (const std::string& name : request_names(config_.outbox_dir)) pending += spans_of(name);
  health_->otlp_pending_spans.store(pending);
  // The sender must never run the host's async signal handlers: it starts with every signal
  // blocked (a thread inherits the mask), and the caller's mask is restored.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

OtlpExporter::~OtlpExporter() {
  stop_.store(true);
  client_->abort();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool OtlpExporter::enqueue(const std::string& body, std::size_t spans) noexcept {
  try {
    char name[96];
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      std::snprintf(name, sizeof name, "%020lld-%ld-%06llu-%zu.json", static_cast<long long>(ns),
                    static_cast<long>(::getpid()), static_cast<unsigned long long>(counter_++), spans);
    }
    // Written under a hidden name and renamed, so the sender never reads half a request.
    const std::string final_path = config_.outbox_dir + "/" + name;
    const std::string temp_path = config_.outbox_dir + "/." + name;
    bool ok = write_new_file(temp_path, body);
    if (ok && ::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      ::unlink(temp_path.c_str());
      ok = false;
    }
    if (!ok) {
      health_->otlp_dropped_spans.fetch_add(spans);
      log_warn("cannot write an OpenTelemetry request to " + config_.outbox_dir + "; its spans are lost");
      return false;
    }
    health_->otlp_pending_spans.fetch_add(spans);
    enforce_cap();
    std::lock_guard<std::mutex> lock(mutex_);
    work_ = true;
    wake_.notify_all();
    return true;
  } catch (...) {
    health_->otlp_dropped_spans.fetch_add(spans);
    return false;
  }
}

void OtlpExporter::enforce_cap() noexcept {
  try {
    if (config_.max_outbox_bytes == 0) return;
    const std::vector<std::string> names = request_names(config_.outbox_dir);
    std::vector<std::uint64_t> sizes(names.size(), 0);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::error_code ec;
      sizes[i] = fs::file_size(config_.outbox_dir + "/" + names[i], ec);
      if (!ec) total += sizes[i];
    }
    // Oldest first; the newest request is always kept.
    for (std::size_t i = 0; i + 1 < names.size() && total > config_.max_outbox_bytes; ++i) {
      if (::unlink((config_.outbox_dir + "/" + names[i]).c_str()) != 0) continue;
      total -= sizes[i];
      const std::size_t spans = spans_of(names[i]);
      health_->otlp_dropped_spans.fetch_add(spans);
      health_->otlp_pending_spans.fetch_sub(std::min<std::uint64_t>(spans, health_->otlp_pending_spans.load()));
    }
  } catch (...) {
  }
}

void OtlpExporter::start_closing(const Deadline& deadline) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closing_) return;
  closing_ = true;
  close_deadline_ = deadline.at;
  work_ = true;
  wake_.notify_all();
}

void OtlpExporter::close(const Deadline& deadline) noexcept {
  try {
    start_closing(deadline);
    {
      // The sender ends its pass by the deadline; past it, its transfer is aborted.
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_until(lock, deadline.at, [&] { return stop_.load(); });
    }
    stop_.store(true);
    client_->abort();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  } catch (...) {
  }
}

void OtlpExporter::interrupt() noexcept { client_->abort(); }

void OtlpExporter::run() noexcept {
  std::mt19937_64 rng(std::random_device{}());
  unsigned failures = 0;
  Clock::time_point next_attempt{};
  while (!stop_.load()) {
    bool closing = false;
    Deadline deadline;
    {
      // Wakes for new requests, for the end of a backoff, and for close().
      std::unique_lock<std::mutex> lock(mutex_);
      const auto ready = [&] { return stop_.load() || closing_ || (work_ && Clock::now() >= next_attempt); };
      if (work_ && Clock::now() < next_attempt) {
        wake_.wait_until(lock, next_attempt, ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (stop_.load()) break;
      closing = closing_;
      // A closing pass ignores the backoff: it is the last chance of this process.
      if (!closing && !(work_ && Clock::now() >= next_attempt)) continue;
      work_ = false;
      deadline = closing ? Deadline{close_deadline_} : Deadline::none();
    }
    try {
      for (const std::string& name : request_names(config_.outbox_dir)) {
        if (stop_.load() || deadline.expired()) break;
        const Sent sent = send_file(name, deadline);
        if (sent == Sent::retry) {
          Clock::duration delay = backoff_delay(failures++, config_.backoff_base, config_.backoff_cap, rng);
          if (retry_after_) delay = std::max<Clock::duration>(delay, *retry_after_);
          next_attempt = Clock::now() + delay;
          std::lock_guard<std::mutex> lock(mutex_);
          work_ = true;  // try the rest again after the backoff
          break;
        }
        if (sent == Sent::taken) failures = 0;
      }
    } catch (...) {
      next_attempt = Clock::now() + config_.backoff_cap;
    }
    if (closing) {
      // One pass, then done: tell close() the sender has finished.
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
      wake_.notify_all();
      break;
    }
  }
}

OtlpExporter::Sent OtlpExporter::send_file(const std::string& name, const Deadline& deadline) {
  const std::string path = config_.outbox_dir + "/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Sent::gone;
  // Another process with the same spool directory may be sending it: one sender per file.
  struct stat held {}, now {};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &held) != 0 || ::stat(path.c_str(), &now) != 0 ||
      held.st_ino != now.st_ino) {
    ::close(fd);
    return Sent::gone;
  }
  std::string body;
  const bool read = read_file(fd, body);
  const std::size_t spans = spans_of(name);
  Sent result = Sent::retry;
  if (read) {
    PostRequest request;
    request.url = config_.traces_url;
    request.extra_headers = config_.extra_headers;
    if (deadline.at != Clock::time_point::max()) {
      request.timeout = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline.remaining()),
                                 std::chrono::milliseconds(1));
    }
    std::string compressed;
    request.body = body;
    if (config_.compress_min_bytes > 0 && body.size() >= config_.compress_min_bytes &&
        gzip_->compress(body, compressed)) {
      request.body = compressed;
      request.gzip = true;
    }
    const HttpResult r = client_->post(request);
    const Outcome o = classify(r, std::chrono::system_clock::now(), std::chrono::seconds(300));
    switch (o.action) {
      case Action::accepted:
      case Action::duplicate: {
        std::string why;
        const std::int64_t rejected = std::min<std::int64_t>(otlp_rejected_spans(r.body, &why), spans);
        if (rejected > 0) {
          health_->otlp_rejected_spans.fetch_add(static_cast<std::uint64_t>(rejected));
          log_warn("the OpenTelemetry endpoint rejected " + std::to_string(rejected) + " span(s): " + why);
        }
        health_->otlp_exported_spans.fetch_add(spans - static_cast<std::size_t>(rejected));
        ::unlink(path.c_str());
        result = Sent::taken;
        break;
      }
      case Action::transient:
      case Action::interrupted:
      case Action::pause:
      case Action::trace_missing:
        // Unreachable, busy, not authorised yet or misrouted (404): the request waits.
        log_debug("OpenTelemetry export to " + config_.traces_url + " failed (" + o.reason + "); retrying later");
        retry_after_ = o.retry_after;
        result = Sent::retry;
        break;
      case Action::too_large:
      case Action::dead_letter: {
        // Refused for good: kept with the reason, out of the way of the requests after it.
        make_private_dirs(config_.dead_letter_dir);
        const std::string kept = config_.dead_letter_dir + "/" + name;
        if (::rename(path.c_str(), kept.c_str()) != 0) ::unlink(path.c_str());
        write_new_file(kept + ".reason", o.reason + (r.body.empty() ? "" : ": " + r.body.substr(0, 2000)) + "\n");
        health_->otlp_rejected_spans.fetch_add(spans);
        log_warn("the OpenTelemetry endpoint refused a request (" + o.reason + "); kept in " + kept);
        result = Sent::refused;
        break;
      }
    }
  }
  if (result != Sent::retry) {
    health_->otlp_pending_spans.fetch_sub(std::min<std::uint64_t>(spans, health_->otlp_pending_spans.load()));
  }
  ::close(fd);
  return result;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
