// Privacy and volume policy as pure functions (contract §7.5–§7.8): redaction, head / per-type /
// tail sampling, and cost. The SDK applies the same functions to what it records (on its
// delivery thread, before anything is written or sent); they are public so that a program can
// apply the same policy to its own logs, and so that tests can check it directly.
//
// Thread-safety: every function is pure (no shared state except immutable tables) and may be
// called from any thread. Blocking: none; no I/O. Failure: functions marked noexcept never
// throw; redact() returns a fail-closed skeleton rather than leak an event it could not scrub.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/export.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE
namespace policy {

// ---- Redaction (contract §7.7) ---------------------------------------------------------------

/// Options of the default redactor. Key comparisons are case-insensitive.
struct RedactOptions {
  /// Keys copied untouched wherever they appear (e.g. "user_id").
  std::vector<std::string> allow_keys;
  /// Keys whose values are sensitive in addition to the built-in list (a key is sensitive when
  /// its lowercase form *contains* one of these).
  std::vector<std::string> extra_sensitive_keys;
  /// Extra patterns (name, regex in Python `re` syntax, Unicode-aware), applied after the
  /// built-in ones, in order.
  std::vector<std::pair<std::string, std::string>> extra_patterns;
  /// Replace with "sha256:<12 hex digits of the raw value>" instead of "[REDACTED]", so that
  /// equal secrets stay recognisable as equal.
  bool hash_values = false;
};

/// The event (an envelope as JSON) with secrets replaced: string values under sensitive keys
/// replaced whole (numbers, bools and null under them are kept: token counts survive), and
/// every match of the patterns in other strings replaced. The envelope's type, session_id, seq,
/// timestamp and idempotency_key are never changed. Never throws: if scrubbing fails (an invalid
/// extra pattern, out of memory), returns the fail-closed skeleton of `event`
/// (redaction_failed_skeleton).
PROMPTETHEUS_API nlohmann::json redact(const nlohmann::json& event, const RedactOptions& options = {}) noexcept;

/// The envelope of `event` with its payload replaced by {"redaction_failed": true} and without
/// metadata: what is recorded when redaction fails and the policy fails closed. Never throws
/// (returns a null json if even that cannot be built).
PROMPTETHEUS_API nlohmann::json redaction_failed_skeleton(const nlohmann::json& event) noexcept;

// ---- Sampling (contract §7.5, §7.6) ----------------------------------------------------------

/// The first 8 bytes of SHA-256(key) as a big-endian integer, rounded to the nearest double and
/// divided by 2^64, as the reference computes it: a deterministic fraction in [0, 1]. It is
/// exactly 1.0 when those bytes are 0xFFFFFFFFFFFFFC00 or more (about one key in 2^54), so such a
/// key is never sampled in at a rate below 1.
PROMPTETHEUS_API double hash_fraction(std::string_view key) noexcept;

/// Head sampling: rate >= 1 records, rate <= 0 does not, else hash_fraction(session_id) < rate
/// (a NaN rate records nothing).
PROMPTETHEUS_API bool head_sampled(std::string_view session_id, double rate) noexcept;

/// Per-type sampling: session_end, error, goal_check and state_change are always kept; a type
/// not in `rates`, or with rate >= 1, is kept; rate <= 0 (or NaN) drops it; else kept iff
/// hash_fraction(idempotency_key) < rate. Out of memory for the lookup: kept.
PROMPTETHEUS_API bool type_sampled(std::string_view type, std::string_view idempotency_key,
                                   const std::map<std::string, double>& rates) noexcept;

/// What makes a finished session worth keeping whole (contract §7.5 TailSamplingPolicy).
struct TailPolicy {
  int retry_loop_threshold = 3;
  double span_latency_ms_threshold = 30000;
  double session_latency_ms_threshold = 120000;
  /// The keep rate of sessions that are not interesting; unset: the head sample rate.
  std::optional<double> boring_success_keep_rate;
  /// On drop, still send the first event and the annotated session_end.
  bool emit_skeleton_on_drop = false;
};

struct TailDecision {
  bool keep = true;
  bool interesting = false;
  std::string reason;  ///< e.g. "error event", "retry loop on search (x3)", "boring success (dropped)"
};

/// Decides a finished session from its events (envelopes or {type, payload} objects, in order;
/// anything that is not an object is skipped). The first strong signal wins: "error event",
/// "failed goal_check" (passed is exactly false), "session ended with failure" (a status that is
/// not null and not "completed", or a truthy error). Then, after the scan: the most common
/// tool_call signature (name = the first truthy of tool, name, tool_name; arguments, or args
/// when arguments is missing or null; the first seen wins a tie) repeated at least
/// retry_loop_threshold times → "retry loop on <name> (x<count>)"; else the slowest span end
/// (type span_end, or a state_change named span_end, with a numeric duration_ms) above the span
/// threshold → "slow span <span_name, or name, or span> (<int ms>ms)"; else the sum of those
/// durations above the session threshold → "slow session (<int ms>ms of span time)". The ms are
/// truncated toward zero as Python's int() does; an infinite duration is written "inf" (the
/// reference raises there), and a NaN one makes the sum NaN, which is never slow. An interesting
/// session is kept; a boring one at boring_success_keep_rate, else at head_sample_rate (>= 1
/// keeps, <= 0 or NaN drops, else hash_fraction(session_id) < rate), with reason "boring success
/// (kept)" or "boring success (dropped)". Never throws (out of memory: keep, with reason
/// "undecided").
PROMPTETHEUS_API TailDecision decide_tail(const std::vector<nlohmann::json>& events, std::string_view session_id,
                                          double head_sample_rate, const TailPolicy& policy = {}) noexcept;

// ---- Cost (contract §7.8) --------------------------------------------------------------------

/// USD per 1,000 tokens.
struct Price {
  double input_per_1k = 0;
  double output_per_1k = 0;
};

/// The price of `model`: the entry of the table equal to the lowercased model, else the longest
/// entry that is a prefix of it; nullopt for an empty or unknown model. Table keys are compared
/// as written, so only lowercase keys can match. Lowercasing covers ASCII and the two non-ASCII
/// letters whose lowercase contains ASCII (U+0130, U+212A); other non-ASCII text is compared
/// unchanged (Python would lowercase it, which matters only for non-ASCII keys). `prices`, when
/// given (even empty), replaces the default table.
PROMPTETHEUS_API std::optional<Price> resolve_price(std::string_view model,
                                                    const std::map<std::string, Price>* prices = nullptr) noexcept;

/// in/1000 * input price + out/1000 * output price; 0 for an unknown model. A token count is read
/// as Python's int() reads it: a float is truncated toward zero; a string is parsed as a base-10
/// integer (surrounding " \t\n\v\f\r", a sign, '_' between digits, at most 4300 digits; ASCII
/// only, where Python also takes other Unicode digits and whitespace). null, a bool, any
/// other type, a string int() rejects, NaN, infinity and a negative count are 0 (the reference
/// raises OverflowError for infinity). Never throws (out of memory: 0).
PROMPTETHEUS_API double estimate_cost(std::string_view model, const nlohmann::json& input_tokens,
                                      const nlohmann::json& output_tokens,
                                      const std::map<std::string, Price>* prices = nullptr) noexcept;

/// Tokens of `text` by the code-point heuristic: 0 for empty text, else
/// max(1, int(code points / 4.0 + 0.999)): ceil(code points / 4) below 2^40 or so. A byte that is not
/// valid UTF-8 counts as one code point (the SDK writes it as U+FFFD).
PROMPTETHEUS_API std::int64_t estimate_tokens(std::string_view text) noexcept;

/// Totals of the llm_call events among `events` (the reference's accumulate_session_cost).
struct SessionCost {
  double total_usd = 0;              ///< over the priced calls
  std::int64_t input_tokens = 0;     ///< over all calls, counts read as estimate_cost reads them (saturating)
  std::int64_t output_tokens = 0;
  std::int64_t llm_calls = 0;
  std::int64_t priced_calls = 0;
  std::vector<std::string> unknown_models;  ///< distinct non-empty model names with no price, sorted

  /// input_tokens + output_tokens, saturating at the int64 limits (each count may already be
  /// the largest int64).
  std::int64_t tokens() const noexcept {
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    if (output_tokens > 0 && input_tokens > max - output_tokens) return max;
    if (output_tokens < 0 && input_tokens < min - output_tokens) return min;
    return input_tokens + output_tokens;
  }
};

/// The totals of the llm_call events among `events`. Throws only std::bad_alloc.
PROMPTETHEUS_API SessionCost session_cost(const std::vector<nlohmann::json>& events,
                                          const std::map<std::string, Price>* prices = nullptr);

/// The cost summary of the llm_call events among `events`:
/// "$<total:.4f> across <n> LLM call(s); <in> in / <out> out tokens" plus
/// "; <k> unpriced (<models>)" when some calls had no price. Tokens are summed over all calls
/// (exactly, as Python ints), cost over the priced ones; <models> are the distinct unpriced
/// model names (strings, non-empty), sorted and comma-separated, or "unknown" when there are
/// none. Throws only std::bad_alloc.
PROMPTETHEUS_API std::string format_cost(const std::vector<nlohmann::json>& events,
                                         const std::map<std::string, Price>* prices = nullptr);

}  // namespace policy
PROMPTETHEUS_END_NAMESPACE
