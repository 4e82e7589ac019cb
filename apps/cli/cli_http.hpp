// Small blocking HTTP calls for doctor (GET /health) and init (POST bootstrap), through the
// transport's curl client.
#pragma once

#include <chrono>
#include <string>

namespace promptetheus::cli {

struct HttpReply {
  long status = 0;          // 0 when no response arrived
  std::string reason;       // the status line's reason phrase, or the transport error
  std::string body;
  bool timed_out = false;
};

/// GET `url` (no redirects, TLS verified). Never throws.
HttpReply http_get(const std::string& url, std::chrono::milliseconds timeout);
/// POST a JSON body with `Authorization: Bearer <bearer_token>`. Never throws.
HttpReply http_post_json(const std::string& url, const std::string& body, const std::string& bearer_token,
                         std::chrono::milliseconds timeout);

}  // namespace promptetheus::cli
