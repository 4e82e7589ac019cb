// Small blocking HTTP calls for doctor (GET /health), init (POST bootstrap) and the commands
// that read runs from a server, through the transport's curl client.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace promptetheus::cli {

struct HttpReply {
  long status = 0;          // 0 when no response arrived
  std::string reason;       // the status line's reason phrase, or the transport error
  std::string body;
  bool timed_out = false;
  bool body_truncated = false;
};

/// GET `url` (no redirects, TLS verified), with `Authorization: Bearer <bearer_token>` when one
/// is given; the body is read up to `max_body_bytes` (`body_truncated` beyond). Never throws.
HttpReply http_get(const std::string& url, std::chrono::milliseconds timeout,
                   const std::string& bearer_token = {}, std::size_t max_body_bytes = 1u << 20);
/// POST a JSON body with `Authorization: Bearer <bearer_token>`. Never throws.
HttpReply http_post_json(const std::string& url, const std::string& body, const std::string& bearer_token,
                         std::chrono::milliseconds timeout);

/// Who a POST says it comes from, for a caller that is not the CLI itself (the MCP proxy tools
/// identify as their own client): the User-Agent and more headers ("Name: value").
struct HttpCaller {
  std::string user_agent;
  std::vector<std::string> extra_headers;
};
/// POST a JSON body as `caller`, with `Authorization: Bearer <bearer_token>`. Never throws.
HttpReply http_post_json(const std::string& url, const std::string& body, const std::string& bearer_token,
                         std::chrono::milliseconds timeout, const HttpCaller& caller);

}  // namespace promptetheus::cli
