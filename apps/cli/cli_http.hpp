// Small blocking HTTP calls for doctor (GET /health), init (POST bootstrap) and the commands
// that read runs from a server, through the transport's curl client.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

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

}  // namespace promptetheus::cli
