#include "cli_http.hpp"

#include <curl/curl.h>

#include "promptetheus/version.hpp"

namespace promptetheus::cli {

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<HttpReply*>(user);
  const std::size_t n = size * count;
  if (reply->body.size() < (1u << 20)) reply->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<HttpReply*>(user);
  const std::string line(data, size * count);
  // "HTTP/1.1 404 Not Found\r\n": keep the reason phrase of the last status line.
  if (line.rfind("HTTP/", 0) == 0) {
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string::npos ? first : line.find(' ', first + 1);
    reply->reason = second == std::string::npos ? "" : line.substr(second + 1);
    while (!reply->reason.empty() && (reply->reason.back() == '\r' || reply->reason.back() == '\n')) {
      reply->reason.pop_back();
    }
  }
  return size * count;
}

HttpReply perform(const std::string& url, const std::string* body, const std::vector<std::string>& headers,
                  std::chrono::milliseconds timeout) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  if (!curl) {
    reply.reason = "could not initialise libcurl";
    return reply;
  }
  curl_slist* header_list = nullptr;
  for (const auto& h : headers) header_list = curl_slist_append(header_list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "promptetheus-cli/" PROMPTETHEUS_VERSION_STRING);
  if (header_list) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.status = 0;
    reply.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    reply.reason = curl_easy_strerror(rc);
  }
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace

HttpReply http_get(const std::string& url, std::chrono::milliseconds timeout) {
  return perform(url, nullptr, {}, timeout);
}

HttpReply http_post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                         std::chrono::milliseconds timeout) {
  std::vector<std::string> all = {"Content-Type: application/json", "Accept: application/json"};
  all.insert(all.end(), headers.begin(), headers.end());
  return perform(url, &body, all, timeout);
}

}  // namespace promptetheus::cli
