// Reading and decoding request bodies of the dev server (spec §5 "Body parsing"), with every size
// bounded so no request can exhaust memory: the bytes on the wire, the bytes after gzip
// decompression, and the nesting depth and value count of the JSON document.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_view.hpp"
#include "dev/http_request.hpp"
#include "dev/wide_integers.hpp"

namespace promptetheus::devserver {

struct BodyLimits {
  std::size_t max_wire_bytes = 64u << 20;          // as sent, possibly compressed
  std::size_t max_decoded_bytes = 64u << 20;       // after gzip decompression
  std::size_t max_json_depth = 512;                // nested arrays/objects
  std::size_t max_json_values = 4u << 20;          // array elements + object members
};

/// The decoded body bytes. `present` is false when the request declared no body (no
/// Content-Length, or an empty or zero one, and no chunked encoding): such a body is not read.
struct RawBody {
  bool present = false;
  std::string bytes;
};

/// Reads the whole body through the request's body reader and undoes a gzip Content-Encoding.
/// The body is never kept past the limits: 413 beyond them, 400 `malformed gzip body`, 415 for
/// an encoding other than gzip. A body up to twice the wire limit is drained (so the 413 reaches
/// the client on a clean connection); a longer declared one is refused unread, and the server
/// then closes the connection. A body that does not arrive in time is 408, bad chunked framing
/// 400. Returns the error instead of the body on failure.
std::optional<HttpError> read_body(const Request& req, const BodyLimits& limits, RawBody& out);

/// Parses a JSON request body: an absent body is `{}`; then 400 `malformed JSON body` (also for
/// NaN/Infinity tokens and invalid UTF-8), 400 for too deep or too many values, and 400
/// `request body must be a JSON object`.
/// With `wide`, integer literals beyond 64 bits are kept as parse_keeping_wide_integers keeps
/// them (dev/wide_integers.hpp); without it they become doubles, as nlohmann reads them.
std::optional<HttpError> parse_json_object(const RawBody& body, const BodyLimits& limits,
                                           nlohmann::json& out,
                                           std::vector<WideInteger>* wide = nullptr);

/// parse_json_object's rules and messages (invalid UTF-8 included), read into a flat JsonView
/// instead of a tree: for routes that only read the document once. The view points into
/// `body.bytes`, which must outlive it.
std::optional<HttpError> view_json_object(const RawBody& body, const BodyLimits& limits,
                                          promptetheus::detail::JsonView& out);

/// gzip decompression with a cap on the output. Exposed for tests. Accepts concatenated members.
enum class GunzipResult { ok, malformed, too_large };
GunzipResult gunzip_bounded(const std::string& compressed, std::size_t max_output, std::string& out);

}  // namespace promptetheus::devserver
