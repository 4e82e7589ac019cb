// What an HTTP answer means for the events it carried: one classification table shared by live
// delivery and spool replay (contract §4.6 with the C++ decisions of DESIGN.md §2), and the
// accept/reject resolution of a 2xx body. Pure functions: no I/O, no clock reads, no state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// One finished (or failed) HTTP exchange, as the curl client reports it.
struct HttpResult {
  long status = 0;            ///< 0 when no HTTP response was received
  int curl_code = 0;          ///< CURLcode of the transfer (0 = CURLE_OK)
  std::string error;          ///< curl's error text, for logs
  std::string retry_after;    ///< the `Retry-After` header value, empty when absent
  std::string status_text;    ///< the reason phrase of the last status line ("Not Found")
  std::string body;           ///< response body (capped by the client)
  bool body_truncated = false;  ///< the body was longer than the client reads
};

enum class Action {
  accepted,      ///< 2xx: resolve the body with resolve_accepted()
  transient,     ///< retry later: network errors, 408, 429, 5xx, 1xx
  pause,         ///< 401/403, 3xx (redirects are not followed), TLS verification, bad URL: spool, pause
  interrupted,   ///< the transfer was aborted by interrupt() or the caller's deadline: spool
  trace_missing, ///< 404 on events: create the trace, then retry once
  too_large,     ///< 413: split the batch; a single event is dead-lettered
  duplicate,     ///< 409: the server already has these events; counted as accepted
  dead_letter,   ///< other 4xx: permanent, dead-letter the batch with `reason`
};

const char* action_name(Action action) noexcept;

struct Outcome {
  Action action = Action::transient;
  std::string reason;  ///< `http_<code>` for HTTP statuses, the curl error name otherwise
  /// Honoured for any status when present and readable, clamped to the cap.
  std::optional<std::chrono::seconds> retry_after;
};

/// The classification table. `now` is the wall-clock time used only to read an HTTP-date
/// Retry-After; `retry_after_cap` bounds it.
Outcome classify(const HttpResult& result, std::chrono::system_clock::time_point now,
                 std::chrono::seconds retry_after_cap) noexcept;

/// What a 2xx body says about each event of the batch (contract §4.6 step 4).
struct Resolution {
  bool fully_accounted = false;
  std::uint64_t accepted = 0;  ///< the server's valid `accepted` count, else 0
  /// Matched rejections: index into the batch and the server's reason.
  std::vector<std::pair<std::size_t, std::string>> rejected;
  /// Indices that are neither rejected nor provably accepted: to be sent again (the server
  /// de-duplicates on idempotency_key). Empty when fully accounted.
  std::vector<std::size_t> unaccounted;
};

/// Resolves a 2xx body against the batch it answered. `accepted` counts only as a non-bool
/// integer >= 0; `rejected` only as a list; each rejection is matched by idempotency_key first
/// (the events' EncodedEvent::idempotency_key),
/// then by an in-range integer `index`; unmatched and repeated matches are ignored. Anything
/// ambiguous (non-object body, missing or wrong counts, truncated body) leaves every
/// non-rejected event unaccounted.
Resolution resolve_accepted(std::string_view body, bool body_truncated,
                            const std::vector<const EncodedEvent*>& batch) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
