#include "policy/recording_policy.hpp"

#include <atomic>
#include <exception>
#include <utility>

#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/trace_body.hpp"
#include "policy/payload_limits.hpp"
#include "policy/redact.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

using nlohmann::json;

class RecordingPolicy final : public EventPolicy {
 public:
  RecordingPolicy(const Options& options, std::vector<std::string>& problems)
      : rates_(options.event_sample_rates),
        hook_(options.redactor),
        fail_open_(options.redact_fail_open),
        max_string_(options.max_string_bytes),
        max_event_(options.max_event_bytes) {
    const RedactMode mode = redact_mode(options.redact);
    redacting_ = static_cast<bool>(hook_) || mode == RedactMode::standard || mode == RedactMode::hash;
    if (redacting_ && !hook_) {
      policy::RedactOptions redact = options.redact_options;
      if (mode == RedactMode::hash) redact.hash_values = true;
      std::string error;
      redactor_ = DefaultRedactor::create(redact, error);
      if (!redactor_) {
        config_error_ = error;
        problems.push_back("redaction cannot be prepared (" + error + "): every event is recorded " +
                           (fail_open_ ? "unredacted (fail open)" : "as a redaction_failed skeleton"));
      }
    }
  }

  bool active() const noexcept { return redacting_ || !rates_.empty() || max_string_ > 0 || max_event_ > 0; }

  bool keep(const Event& event, std::string_view idempotency_key) const noexcept override {
    if (rates_.empty()) return true;
    return policy::type_sampled(kEventTypes[static_cast<std::size_t>(event.type)], idempotency_key, rates_);
  }

  bool write(Event& event, std::string& line) const noexcept override {
    try {
      line.clear();
      if (redacting_ && redactor_) {
        std::string error;
        switch (redactor_->redact_in_place(event, error)) {
          case DefaultRedactor::InPlace::unchanged:
            break;
          case DefaultRedactor::InPlace::redacted:
            redacted_.fetch_add(1, std::memory_order_relaxed);
            break;
          case DefaultRedactor::InPlace::failed:
            write_event(line, event);
            fail(line, error);
            return true;
          case DefaultRedactor::InPlace::needs_copy:
            write_event(line, event);
            rewrite(line, nullptr);
            return true;
        }
      } else if (redacting_) {
        // The caller's redactor, or a redactor that could not be prepared: through the JSON.
        write_event(line, event);
        rewrite(line, nullptr);
        return true;
      }
      write_limited(event, line);
      return true;
    } catch (...) {
      line.clear();
      return false;
    }
  }

  void redact_line(EncodedEvent& event) const noexcept override {
    if (!redacting_) return;
    try {
      std::string body;
      rewrite(event.json, event.starts_session ? &body : nullptr);
      if (event.starts_session) {
        if (body.empty()) {
          event.trace_body.reset();
        } else {
          event.trace_body = std::make_shared<const std::string>(std::move(body));
        }
      }
    } catch (...) {
      // Out of memory: nothing unredacted may leave, so the line is emptied (a transport skips
      // an empty line as malformed) and counted.
      event.json.clear();
      event.trace_body.reset();
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool redact_trace_body(const std::string& body, std::string& out) const noexcept override {
    if (!redacting_) return false;
    try {
      // The session_started event the body was made from (core/trace_body.cpp), redacted as the
      // event is: redaction of a value depends only on the keys above it and on the value.
      const json parsed = json::parse(body, nullptr, false);
      const json& id = parsed.is_object() ? parsed.value("id", json()) : json();
      json after = json::object();
      for (const char* key : {"agent", "user_goal", "project_id", "environment", "tags"}) {
        if (parsed.is_object() && parsed.contains(key)) after[key] = parsed[key];
      }
      json event = json::object();
      event["type"] = "state_change";
      event["session_id"] = id;
      event["payload"] = json::object({{"name", "session_started"}, {"after", std::move(after)}});
      if (parsed.is_object() && parsed.contains("metadata")) event["metadata"] = parsed["metadata"];
      std::string error;
      std::optional<json> redacted = redact_json(event, error);
      if (redacted) {
        out = trace_body_from_event(*redacted);
        if (!out.empty()) return true;
      }
      // Fail closed: the trace is created with the session id only.
      out = make_trace_body(id.is_string() ? id.get_ref<const std::string&>() : std::string(), json::object(),
                            json::object());
      return true;
    } catch (...) {
      out.clear();
      return true;
    }
  }

  Counts counts() const noexcept override {
    Counts c;
    c.redacted = redacted_.load(std::memory_order_relaxed);
    c.failed = failed_.load(std::memory_order_relaxed);
    c.truncated = truncated_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  /// The redacted copy of an event, or nullopt with `error` when redaction failed.
  std::optional<json> redact_json(const json& event, std::string& error) const {
    if (!event.is_object()) {
      error = "the event is not a JSON object";
      return std::nullopt;
    }
    if (hook_) return call_hook(event, error);
    if (redactor_) return redactor_->redact(event, error);
    error = config_error_;
    return std::nullopt;
  }

  std::optional<json> call_hook(const json& event, std::string& error) const {
    json result;
    try {
      result = hook_(event);
    } catch (const std::exception& e) {
      error = std::string("the redactor threw: ") + e.what();
      return std::nullopt;
    } catch (...) {
      error = "the redactor threw";
      return std::nullopt;
    }
    if (!result.is_object()) {
      error = "the redactor returned something that is not an object";
      return std::nullopt;
    }
    // The event's identity is the SDK's: delivery and deduplication rely on it.
    for (std::string_view key : kProtectedKeys) {
      const auto it = event.find(key);
      if (it != event.end()) {
        result[std::string(key)] = *it;
      } else {
        result.erase(std::string(key));
      }
    }
    return result;
  }

  /// Redacts one event line in place (and rebuilds the trace body from it when `trace_body` is
  /// given). Throws only std::bad_alloc.
  void rewrite(std::string& line, std::string* trace_body) const {
    const json event = json::parse(line, nullptr, false);
    std::string error;
    std::optional<json> redacted = redact_json(event, error);
    if (redacted) {
      if (*redacted != event) redacted_.fetch_add(1, std::memory_order_relaxed);
      if (trace_body) *trace_body = trace_body_from_event(*redacted);
      write_limited(*redacted, line);
      return;
    }
    if (fail_open_) {
      fail(line, error);
      if (trace_body) *trace_body = trace_body_from_event(event);
      return;
    }
    fail(line, error);
    if (trace_body) *trace_body = trace_body_from_event(policy::redaction_failed_skeleton(event));
  }

  // ---- Payload limits (policy/payload_limits.hpp), after redaction --------------------------

  /// The smallest string limit tried to make an event fit max_event_bytes before its payload is
  /// replaced.
  static constexpr std::size_t kSmallestStringLimit = 16;

  /// Writes the event into `line` within the limits: strings cut to max_string_bytes, then, while
  /// the line is longer than max_event_bytes, to half as much, down to kSmallestStringLimit;
  /// then the payload replaced by {"truncated": true, "original_bytes": N} without metadata.
  void write_limited(Event& event, std::string& line) const {
    bool cut = max_string_ > 0 && truncate_strings(event, max_string_) > 0;
    line.clear();
    write_event(line, event);
    if (max_event_ > 0 && line.size() > max_event_) {
      cut = true;
      const std::size_t original = line.size();
      for (std::size_t limit = max_string_ > 0 ? max_string_ : max_event_;
           line.size() > max_event_ && limit > kSmallestStringLimit;) {
        limit /= 2;
        truncate_strings(event, limit);
        line.clear();
        write_event(line, event);
      }
      if (line.size() > max_event_) {
        event.payload = Payload();
        event.payload.add("truncated", true);
        event.payload.add("original_bytes", static_cast<std::int64_t>(original));
        release_json(event.metadata);
        event.metadata = nullptr;
        line.clear();
        write_event(line, event);
      }
    }
    if (cut) truncated_.fetch_add(1, std::memory_order_relaxed);
  }

  /// The same for an event as JSON (redacted through its JSON).
  void write_limited(json& event, std::string& line) const {
    auto cut_strings = [&](std::size_t limit) {
      std::size_t n = 0;
      const auto payload = event.find("payload");
      if (payload != event.end()) n += truncate_payload(*payload, limit);
      const auto metadata = event.find("metadata");
      if (metadata != event.end()) n += truncate_metadata(*metadata, limit);
      return n;
    };
    bool cut = max_string_ > 0 && event.is_object() && cut_strings(max_string_) > 0;
    line.clear();
    write_json(line, event);
    if (max_event_ > 0 && line.size() > max_event_ && event.is_object()) {
      cut = true;
      const std::size_t original = line.size();
      for (std::size_t limit = max_string_ > 0 ? max_string_ : max_event_;
           line.size() > max_event_ && limit > kSmallestStringLimit;) {
        limit /= 2;
        cut_strings(limit);
        line.clear();
        write_json(line, event);
      }
      if (line.size() > max_event_) {
        event["payload"] = json::object({{"truncated", true}, {"original_bytes", original}});
        event.erase("metadata");
        line.clear();
        write_json(line, event);
      }
    }
    if (cut) truncated_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Counts a failure and, unless the policy fails open, replaces `line` by the skeleton.
  void fail(std::string& line, const std::string& error) const {
    failed_.fetch_add(1, std::memory_order_relaxed);
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      log_warn("redaction failed (" + error + "); the event is recorded " +
               (fail_open_ ? std::string("unredacted (fail open)") : std::string("as a redaction_failed skeleton")) +
               "; later failures are counted in stats().redaction_failed");
    }
    if (fail_open_) return;
    const json event = json::parse(line, nullptr, false);
    const json skeleton = policy::redaction_failed_skeleton(event);
    line.clear();
    if (!skeleton.is_null()) write_json(line, skeleton);
  }

  std::map<std::string, double> rates_;
  std::function<json(json)> hook_;
  bool fail_open_;
  std::size_t max_string_;  // 0: no limit
  std::size_t max_event_;   // 0: no limit
  bool redacting_ = false;
  std::unique_ptr<DefaultRedactor> redactor_;  // the default redactor, when it applies and compiled
  std::string config_error_;                   // why redactor_ could not be prepared
  mutable std::atomic<std::uint64_t> redacted_{0};
  mutable std::atomic<std::uint64_t> failed_{0};
  mutable std::atomic<std::uint64_t> truncated_{0};
};

}  // namespace

RedactMode redact_mode(const std::string& redact) noexcept {
  if (redact.empty() || redact == "off" || redact == "none") return RedactMode::off;
  if (redact == "default") return RedactMode::standard;
  if (redact == "hash") return RedactMode::hash;
  return RedactMode::unknown;
}

bool make_event_policy(const Options& options, std::shared_ptr<const EventPolicy>& out,
                       std::vector<std::string>& problems) noexcept {
  out.reset();
  try {
    if (redact_mode(options.redact) == RedactMode::unknown && !options.redactor) {
      problems.push_back("unknown redact setting '" + options.redact +
                         "' (expected default, hash or off): nothing is redacted");
    }
    auto policy = std::make_shared<RecordingPolicy>(options, problems);
    if (policy->active()) out = std::move(policy);
    return true;
  } catch (...) {
    try {
      problems.push_back("cannot prepare the recording policy (out of memory)");
    } catch (...) {
    }
    return false;
  }
}

std::string describe_policy(const Options& options) {
  auto rate = [](double value) {
    std::string out;
    write_python_float(out, value);
    return out;
  };
  std::string out;
  out += "  event rates  : ";
  if (options.event_sample_rates.empty()) {
    out += "(every type kept)";
  } else {
    bool first = true;
    for (const auto& [type, value] : options.event_sample_rates) {
      out += (first ? "" : ", ") + type + "=" + rate(value);
      first = false;
    }
    out += " (session_end, error, goal_check, state_change always kept)";
  }
  out += "\n  tail sample  : ";
  if (!options.tail_sample) {
    out += "off";
  } else {
    const policy::TailPolicy& t = options.tail_policy;
    out += "on (kept: errors, failed goals or ends, retry loops of " + std::to_string(t.retry_loop_threshold) +
           ", spans over " + rate(t.span_latency_ms_threshold) + " ms, sessions over " +
           rate(t.session_latency_ms_threshold) + " ms of span time; boring sessions at " +
           rate(t.boring_success_keep_rate.value_or(options.sample_rate)) + ")";
  }
  out += "\n  limits       : ";
  if (options.max_string_bytes == 0 && options.max_event_bytes == 0) {
    out += "none";
  } else {
    auto bytes = [](std::size_t n) { return n == 0 ? std::string("no limit") : std::to_string(n) + " bytes"; };
    out += "strings " + bytes(options.max_string_bytes) + ", events " + bytes(options.max_event_bytes);
  }
  out += "\n  redaction    : ";
  const RedactMode mode = redact_mode(options.redact);
  if (options.redactor) {
    out += "custom redactor";
  } else if (mode == RedactMode::off) {
    out += "off";
  } else if (mode == RedactMode::unknown) {
    out += "off (unknown setting '" + options.redact + "')";
  } else {
    const policy::RedactOptions& r = options.redact_options;
    out += "default redactor";
    if (mode == RedactMode::hash || r.hash_values) out += ", hashing values";
    auto list = [](const std::vector<std::string>& keys) {
      std::string text;
      for (const auto& key : keys) text += (text.empty() ? "" : ", ") + key;
      return text;
    };
    if (!r.allow_keys.empty()) out += "; allowed keys: " + list(r.allow_keys);
    if (!r.extra_sensitive_keys.empty()) out += "; extra sensitive keys: " + list(r.extra_sensitive_keys);
    for (const auto& [name, pattern] : r.extra_patterns) out += "; pattern " + name + " = " + pattern;
  }
  if (mode != RedactMode::off || options.redactor) {
    out += options.redact_fail_open ? " (fails open)" : " (fails closed)";
  }
  return out;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
