// Small blocking HTTP calls for doctor (GET /health) and init (POST bootstrap), via libcurl.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace promptetheus::cli {

struct HttpReply {
  long status = 0;          // 0 when no response arrived
  std::string reason;       // the status line's reason phrase, or the transport error
  std::string body;
  bool timed_out = false;
};

/// GET `url` (no redirects, TLS verified). Never throws.
HttpReply http_get(const std::string& url, std::chrono::milliseconds timeout);
/// POST a JSON body with the given extra headers. Never throws.
HttpReply http_post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                         std::chrono::milliseconds timeout);

}  // namespace promptetheus::cli
