// Head, per-type and tail sampling (contract §7.5, §7.6), with the reference's Python semantics:
// truthiness, exact int/float comparisons, int() truncation in the reasons, first-seen order among
// equally common retry signatures.
#include "promptetheus/policy.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json_writer.hpp"
#include "core/sha256.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE
namespace policy {

namespace {

using nlohmann::json;

constexpr double kTwoPow63 = 9223372036854775808.0;
constexpr double kTwoPow64 = 18446744073709551616.0;

/// Python's bool(value) for a JSON value. NaN is truthy, as in Python.
bool truthy(const json& v) noexcept {
  switch (v.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return v.get<bool>();
    case json::value_t::number_integer: return v.get<std::int64_t>() != 0;
    case json::value_t::number_unsigned: return v.get<std::uint64_t>() != 0;
    case json::value_t::number_float: return v.get<double>() != 0.0;
    case json::value_t::string: return !v.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object: return !v.empty();
    default: return false;
  }
}

/// `obj.get(key)` of a mapping, or nullptr (Python's None) when absent. A null `obj` stands for an
/// empty mapping.
const json* get(const json* obj, const char* key) noexcept {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  const auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

bool is_string(const json* v, const char* expected) noexcept {
  return v != nullptr && v->is_string() && v->get_ref<const std::string&>() == expected;
}

/// Python's `i > d` for an int and a float: exact, as Python compares them (no rounding of i).
bool int_greater(std::int64_t i, double d) noexcept {
  if (std::isnan(d)) return false;
  if (d >= kTwoPow63) return false;
  if (d < -kTwoPow63) return true;
  const double t = std::trunc(d);  // in [-2^63, 2^63): exactly representable as int64
  const auto ti = static_cast<std::int64_t>(t);
  if (i != ti) return i > ti;
  return d < t;  // i == trunc(d): greater only when d has a negative fractional part
}

bool uint_greater(std::uint64_t u, double d) noexcept {
  if (std::isnan(d)) return false;
  if (d >= kTwoPow64) return false;
  if (d < 0) return true;
  const double t = std::trunc(d);
  const auto tu = static_cast<std::uint64_t>(t);
  if (u != tu) return u > tu;
  return false;  // u == trunc(d) and d >= 0: d >= u
}

/// Python's `number > d` for a JSON number (int, or float compared as float).
bool greater(const json& number, double d) noexcept {
  if (number.is_number_unsigned()) return uint_greater(number.get<std::uint64_t>(), d);
  if (number.is_number_integer()) return int_greater(number.get<std::int64_t>(), d);
  return number.get<double>() > d;
}

/// Python's str(value) for the names shown in reasons. Strings as they are, bools as True/False,
/// numbers as Python prints them; a list or dict (an odd name) in canonical JSON instead of
/// Python's repr.
std::string py_str(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return v.get<std::string>();
    case json::value_t::boolean: return v.get<bool>() ? "True" : "False";
    case json::value_t::null: return "None";
    case json::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
    case json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case json::value_t::number_float: {
      std::string out;
      detail::write_python_float(out, v.get<double>());
      return out;
    }
    default: return detail::canonical_json(v);
  }
}

/// Python's int(x) of a float, written in decimal: truncated toward zero, exact (glibc prints an
/// integral double exactly). Python raises on infinity; the C++ reason writes "inf" / "-inf".
std::string py_int_text(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (std::isnan(x)) return "nan";  // unreachable: NaN is never above a threshold
  double t = std::trunc(x);
  if (t == 0) t = 0.0;  // int(-0.5) is 0, not -0
  char buf[400];  // the largest double has 309 integral digits
  std::snprintf(buf, sizeof buf, "%.0f", t);
  return buf;
}

/// "<name>::<canonical JSON of arguments (or args)>" for a tool_call with a truthy name, else empty.
/// The reference uses json.dumps(sort_keys=True); the SDK's canonical writer (also sorted) gives
/// equal signatures for equal arguments, which is all the retry count needs.
std::string tool_signature(const json* payload) {
  const json* name = nullptr;
  for (const char* key : {"tool", "name", "tool_name"}) {
    const json* v = get(payload, key);
    if (v != nullptr && truthy(*v)) {
      name = v;
      break;
    }
  }
  if (name == nullptr) return {};
  const json* args = get(payload, "arguments");
  if (args == nullptr || args->is_null()) args = get(payload, "args");
  std::string sig = py_str(*name);
  sig += "::";
  if (args == nullptr) {
    sig += "null";
  } else {
    detail::write_json(sig, *args);
  }
  return sig;
}

struct Verdict {
  bool interesting = false;
  std::string reason;
};

/// The reference's TailSamplingPolicy.interesting(events).
Verdict interesting(const std::vector<json>& events, const TailPolicy& policy) {
  // Signatures in first-seen order with their counts: Counter.most_common(1) returns the first
  // inserted of the most common.
  std::vector<std::pair<std::string, std::int64_t>> retry_counts;
  std::unordered_map<std::string, std::size_t> retry_index;
  double total_span_ms = 0.0;
  bool have_slow_span = false;
  std::string slow_span_name;
  double slow_span_ms = 0.0;

  for (const json& event : events) {
    if (!event.is_object()) continue;  // event.get raises in the reference: skipped
    const json* type = get(&event, "type");
    const json* payload = get(&event, "payload");  // not a mapping: read as {}

    if (is_string(type, "error")) return {true, "error event"};
    if (is_string(type, "goal_check")) {
      const json* passed = get(payload, "passed");
      if (passed != nullptr && passed->is_boolean() && !passed->get<bool>()) return {true, "failed goal_check"};
    }
    if (is_string(type, "session_end")) {
      const json* status = get(payload, "status");
      const json* error = get(payload, "error");
      if ((status != nullptr && !status->is_null() && !is_string(status, "completed")) ||
          (error != nullptr && truthy(*error))) {
        return {true, "session ended with failure"};
      }
    }

    if (is_string(type, "tool_call")) {
      std::string sig = tool_signature(payload);
      if (!sig.empty()) {
        const auto found = retry_index.find(sig);
        if (found != retry_index.end()) {
          ++retry_counts[found->second].second;
        } else {
          retry_index.emplace(sig, retry_counts.size());
          retry_counts.emplace_back(std::move(sig), 1);
        }
      }
    }

    const bool is_span_end =
        is_string(type, "span_end") || (is_string(type, "state_change") && is_string(get(payload, "name"), "span_end"));
    if (is_span_end) {
      const json* duration = get(payload, "duration_ms");
      // isinstance(duration, (int, float)) and not bool: nlohmann keeps bools apart from numbers.
      if (duration != nullptr && duration->is_number()) {
        const double ms = duration->get<double>();  // float(duration)
        total_span_ms += ms;
        if (greater(*duration, policy.span_latency_ms_threshold) &&
            (!have_slow_span || greater(*duration, slow_span_ms))) {
          const json* name = nullptr;
          for (const char* key : {"span_name", "name"}) {
            const json* v = get(payload, key);
            if (v != nullptr && truthy(*v)) {
              name = v;
              break;
            }
          }
          slow_span_name = name != nullptr ? py_str(*name) : "span";
          slow_span_ms = ms;
          have_slow_span = true;
        }
      }
    }
  }

  if (!retry_counts.empty()) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < retry_counts.size(); ++i) {
      if (retry_counts[i].second > retry_counts[best].second) best = i;
    }
    const auto& [sig, count] = retry_counts[best];
    if (count >= policy.retry_loop_threshold) {
      const std::string tool = sig.substr(0, sig.find("::"));  // sig.split("::", 1)[0]
      return {true, "retry loop on " + tool + " (x" + std::to_string(count) + ")"};
    }
  }
  if (have_slow_span) return {true, "slow span " + slow_span_name + " (" + py_int_text(slow_span_ms) + "ms)"};
  if (total_span_ms > policy.session_latency_ms_threshold) {
    return {true, "slow session (" + py_int_text(total_span_ms) + "ms of span time)"};
  }
  return {false, "boring success"};
}

/// rate >= 1 keeps, rate <= 0 drops, else the fraction of `key` decides (NaN drops).
bool keep_at_rate(std::string_view key, double rate) noexcept {
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  return hash_fraction(key) < rate;
}

}  // namespace

double hash_fraction(std::string_view key) noexcept {
  const detail::Sha256Digest digest = detail::sha256(key);
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i) prefix = (prefix << 8) | digest[i];
  // int / float(1 << 64) in Python: the int rounded to the nearest double first, then an exact
  // division by a power of two.
  return static_cast<double>(prefix) / kTwoPow64;
}

bool head_sampled(std::string_view session_id, double rate) noexcept { return keep_at_rate(session_id, rate); }

bool type_sampled(std::string_view type, std::string_view idempotency_key,
                  const std::map<std::string, double>& rates) noexcept {
  if (type == "session_end" || type == "error" || type == "goal_check" || type == "state_change") return true;
  try {
    const auto it = rates.find(std::string(type));
    if (it == rates.end()) return true;
    return keep_at_rate(idempotency_key, it->second);
  } catch (...) {
    return true;  // no memory for the lookup: keep (recording too much beats losing a signal)
  }
}

TailDecision decide_tail(const std::vector<nlohmann::json>& events, std::string_view session_id,
                         double head_sample_rate, const TailPolicy& policy) noexcept {
  try {
    Verdict verdict = interesting(events, policy);
    TailDecision decision;
    if (verdict.interesting) {
      decision.keep = true;
      decision.interesting = true;
      decision.reason = std::move(verdict.reason);
      return decision;
    }
    const double rate = policy.boring_success_keep_rate.value_or(head_sample_rate);
    decision.keep = keep_at_rate(session_id, rate);
    decision.interesting = false;
    decision.reason = decision.keep ? "boring success (kept)" : "boring success (dropped)";
    return decision;
  } catch (...) {
    TailDecision undecided;
    undecided.keep = true;
    undecided.interesting = false;
    undecided.reason = "undecided";  // fits the small-string buffer: no allocation
    return undecided;
  }
}

}  // namespace policy
PROMPTETHEUS_END_NAMESPACE
