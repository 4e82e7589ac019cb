#include "transport/curl_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "core/log.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

// libcurl >= 7.84 makes this thread-safe; call_once keeps older builds correct too. Never
// paired with curl_global_cleanup: the host or its resolver threads may still use curl.
void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HeaderList {
  curl_slist* list = nullptr;
  void add(const std::string& h) {
    if (auto* next = curl_slist_append(list, h.c_str())) list = next;
  }
  ~HeaderList() { curl_slist_free_all(list); }
};

}  // namespace

CurlClient::CurlClient(CurlOptions options) : options_(std::move(options)) {
  global_init_once();
  CURL* h = curl_easy_init();
  handle_ = h;
  if (!h) {
    log_warn("curl_easy_init failed; HTTP delivery will spool every batch");
    return;
  }
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &CurlClient::on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CurlClient::on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &CurlClient::on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
  curl_easy_setopt(h, CURLOPT_QUICK_EXIT, 1L);  // never wait for a stuck resolver thread
#endif
  // Transfers run through a multi handle so that abort() can wake a transfer that is waiting
  // on a silent server at once (curl_multi_wakeup is thread-safe); the progress callback alone
  // may be called only once a second then. The multi handle also keeps the connection cache.
  multi_ = curl_multi_init();
  if (!multi_) log_warn("curl_multi_init failed; transfers cannot be interrupted promptly");
}

CurlClient::~CurlClient() {
  if (multi_) curl_multi_cleanup(static_cast<CURLM*>(multi_));
  if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

void CurlClient::abort() noexcept {
  abort_.store(true, std::memory_order_release);
  if (multi_) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

// Runs the transfer on the multi handle, polling in short slices so that an abort is noticed
// within one slice even when no data moves.
static CURLcode perform_interruptible(CURLM* multi, CURL* easy, const std::atomic<bool>& aborted) {
  if (curl_multi_add_handle(multi, easy) != CURLM_OK) return curl_easy_perform(easy);
  CURLcode rc = CURLE_OK;
  bool done = false;
  while (!done) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      rc = CURLE_FAILED_INIT;
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        rc = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    if (aborted.load(std::memory_order_acquire)) {
      rc = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    curl_multi_poll(multi, nullptr, 0, 50, nullptr);
  }
  curl_multi_remove_handle(multi, easy);
  return rc;
}

int CurlClient::on_progress(void* self, long long, long long, long long, long long) {
  return static_cast<CurlClient*>(self)->aborted() ? 1 : 0;
}

std::size_t CurlClient::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto* client = static_cast<CurlClient*>(self);
  const std::size_t n = size * count;
  HttpResult* r = client->current_;
  if (r) {
    const std::size_t room = client->options_.max_response_bytes > r->body.size()
                                 ? client->options_.max_response_bytes - r->body.size()
                                 : 0;
    if (n > room) r->body_truncated = true;
    r->body.append(data, std::min(n, room));
  }
  return n;  // keep reading (and discarding) so the connection stays reusable
}

std::size_t CurlClient::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  auto* client = static_cast<CurlClient*>(self);
  const std::size_t n = size * count;
  HttpResult* r = client->current_;
  if (!r) return n;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    r->retry_after.clear();  // a new response (e.g. after 100 Continue) starts fresh
    // "HTTP/1.1 404 Not Found\r\n": keep the reason phrase of the last status line.
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    auto text = second == std::string_view::npos ? std::string_view() : line.substr(second + 1);
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
    r->status_text.assign(text.begin(), text.end());
    return n;
  }
  constexpr std::string_view name = "retry-after:";
  if (line.size() > name.size()) {
    bool match = true;
    for (std::size_t i = 0; i < name.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    }
    if (match) {
      auto value = line.substr(name.size());
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
      r->retry_after.assign(value.begin(), value.end());
    }
  }
  return n;
}

HttpResult CurlClient::post(const PostRequest& req) noexcept {
  Body body;
  body.bytes = &req.body;
  body.gzip = req.gzip;
  return perform(req.url, body, req.api_key, req.timeout, &req.extra_headers);
}

HttpResult CurlClient::post_file(const FilePostRequest& req) noexcept {
  HttpResult result;
  std::FILE* file = std::fopen(req.path.c_str(), "rbe");
  if (!file) {
    result.curl_code = CURLE_READ_ERROR;
    result.error = "cannot open " + req.path;
    return result;
  }
  Body body;
  body.file = file;
  body.content_type = &req.content_type;
  if (std::fseek(file, 0, SEEK_END) == 0) body.file_size = std::ftell(file);
  std::rewind(file);
  if (body.file_size < 0) {
    std::fclose(file);
    result.curl_code = CURLE_READ_ERROR;
    result.error = "cannot size " + req.path;
    return result;
  }
  result = perform(req.url, body, req.api_key, req.timeout, &req.extra_headers);
  std::fclose(file);
  return result;
}

HttpResult CurlClient::get(const std::string& url, std::string_view bearer_token) noexcept {
  return perform(url, Body{}, bearer_token, std::chrono::milliseconds(0), nullptr);
}

HttpResult CurlClient::perform(const std::string& url, const Body& body, std::string_view api_key,
                               std::chrono::milliseconds timeout,
                               const std::vector<std::string>* extra_headers) noexcept {
  HttpResult result;
  try {
    CURL* h = static_cast<CURL*>(handle_);
    if (!h) {
      result.curl_code = CURLE_FAILED_INIT;
      result.error = "no curl handle";
      return result;
    }
    if (aborted()) {
      result.curl_code = CURLE_ABORTED_BY_CALLBACK;
      result.error = "aborted before start";
      return result;
    }
    HeaderList headers;
    const bool posting = body.bytes || body.file;
    if (posting) {
      headers.add("Content-Type: " + (body.content_type ? *body.content_type : std::string("application/json")));
      headers.add("Accept: application/json");
      headers.add("Expect:");  // no 100-continue round trip on large bodies
      if (body.gzip) headers.add("Content-Encoding: gzip");
    }
    if (!api_key.empty()) headers.add("Authorization: Bearer " + std::string(api_key));
    if (extra_headers) {
      for (const std::string& header : *extra_headers) headers.add(header);
    }

    auto total = options_.total_timeout;
    if (timeout.count() > 0) total = std::min(total, timeout);
    total = std::max(total, std::chrono::milliseconds(1));

    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);
    if (body.bytes) {
      // POSTFIELDSIZE_LARGE makes curl send Content-Length: never chunked (contract §4.6).
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.bytes->data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.bytes->size()));
    } else if (body.file) {
      // Read as sent (curl's default read function freads READDATA), with the size known up
      // front: Content-Length, never chunked.
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, nullptr);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, nullptr);
      curl_easy_setopt(h, CURLOPT_READDATA, body.file);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.file_size));
    } else {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));

    current_ = &result;
    CURLcode rc = multi_ ? perform_interruptible(static_cast<CURLM*>(multi_), h, abort_) : curl_easy_perform(h);
    current_ = nullptr;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    if (body.file) curl_easy_setopt(h, CURLOPT_READDATA, nullptr);  // the file is closed after this

    result.curl_code = rc;
    if (rc == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      result.status = status;
    } else {
      result.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      result.body.clear();
    }
  } catch (...) {
    current_ = nullptr;
    result = HttpResult{};
    result.curl_code = CURLE_OUT_OF_MEMORY;
    result.error = "exception during transfer";
  }
  return result;
}

std::string curl_code_text(int curl_code) { return curl_easy_strerror(static_cast<CURLcode>(curl_code)); }

bool curl_code_is_timeout(int curl_code) noexcept { return curl_code == CURLE_OPERATION_TIMEDOUT; }

std::string encode_path_segment(std::string_view segment) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  // "." and ".." are dot-segments even when unreserved: encode them so they stay literal.
  if (out == "." || out == "..") {
    std::string dots;
    for (std::size_t i = 0; i < out.size(); ++i) dots += "%2E";
    return dots;
  }
  return out;
}

std::string join_url(std::string_view endpoint, std::string_view path) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.remove_suffix(1);
  std::string url(endpoint);
  if (path.empty() || path.front() != '/') url.push_back('/');
  url.append(path);
  return url;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
