#include "cli_http.hpp"

#include "promptetheus/version.hpp"
#include "transport/curl_client.hpp"

namespace promptetheus::cli {

namespace {

// One blocking call on a client of its own: the connection and the whole call each have
// `timeout`, no low-speed abort, and response bodies are read up to `max_body_bytes`.
detail::CurlClient make_client(std::chrono::milliseconds timeout, std::size_t max_body_bytes = 1u << 20,
                               std::string user_agent = "promptetheus-cli/" PROMPTETHEUS_VERSION_STRING) {
  detail::CurlOptions options;
  options.connect_timeout = timeout;
  options.total_timeout = timeout;
  options.low_speed_bytes = 0;
  options.user_agent = std::move(user_agent);
  options.max_response_bytes = max_body_bytes;
  return detail::CurlClient(std::move(options));
}

HttpReply reply_of(detail::HttpResult&& result) {
  HttpReply reply;
  if (result.curl_code == 0) {
    reply.status = result.status;
    reply.reason = std::move(result.status_text);
    reply.body = std::move(result.body);
    reply.body_truncated = result.body_truncated;
  } else {
    reply.timed_out = detail::curl_code_is_timeout(result.curl_code);
    reply.reason = detail::curl_code_text(result.curl_code);
  }
  return reply;
}

}  // namespace

HttpReply http_get(const std::string& url, std::chrono::milliseconds timeout,
                   const std::string& bearer_token, std::size_t max_body_bytes) {
  detail::CurlClient client = make_client(timeout, max_body_bytes);
  return reply_of(client.get(url, bearer_token));
}

HttpReply http_post_json(const std::string& url, const std::string& body, const std::string& bearer_token,
                         std::chrono::milliseconds timeout) {
  detail::CurlClient client = make_client(timeout);
  detail::PostRequest request;
  request.url = url;
  request.body = body;
  request.api_key = bearer_token;
  return reply_of(client.post(request));
}

HttpReply http_post_json(const std::string& url, const std::string& body, const std::string& bearer_token,
                         std::chrono::milliseconds timeout, const HttpCaller& caller) {
  detail::CurlClient client = make_client(timeout, 1u << 20, caller.user_agent);
  detail::PostRequest request;
  request.url = url;
  request.body = body;
  request.api_key = bearer_token;
  request.extra_headers = caller.extra_headers;
  return reply_of(client.post(request));
}

}  // namespace promptetheus::cli
