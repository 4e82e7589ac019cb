// Session, SessionHandle helpers (contract §2.3-§2.4) and the session lifecycle (§2.2).
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <unordered_set>

#include "core/access.hpp"
#include "core/event_policy.hpp"
#include "core/exception_info.hpp"
#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/pipeline.hpp"
#include "core/registry.hpp"
#include "core/session_file_name.hpp"
#include "core/session_state.hpp"
#include "core/span_events.hpp"
#include "core/thread_context.hpp"
#include "core/trace_body.hpp"
#include "promptetheus/client.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/wrappers.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

SessionInfo::SessionInfo(std::string id, const std::string& nonce, std::string trace_body)
    : id_(std::move(id)), trace_body_(std::move(trace_body)) {
  key_prefix_.reserve(id_.size() + nonce.size() + 2);
  key_prefix_ += id_;
  key_prefix_ += ':';
  key_prefix_ += nonce;
  key_prefix_ += ':';
  write_json_string(json_id_, id_);
  write_json_string(json_key_prefix_, key_prefix_);
  json_key_prefix_.pop_back();  // the closing quote comes after the seq
}

SessionInfo::~SessionInfo() { delete redacted_trace_body_.load(std::memory_order_acquire); }

const std::string& SessionInfo::redacted_trace_body(const EventPolicy& policy) const noexcept {
  if (const std::string* made = redacted_trace_body_.load(std::memory_order_acquire)) return *made;
  try {
    std::string redacted;
    if (!policy.redact_trace_body(trace_body_, redacted)) return trace_body_;  // the policy does not redact
    auto body = std::make_unique<std::string>(std::move(redacted));
    const std::string* expected = nullptr;
    // Two threads may make it at once (the worker and a caller spilling): the first one is kept.
    if (redacted_trace_body_.compare_exchange_strong(expected, body.get(), std::memory_order_acq_rel)) {
      return *body.release();
    }
    return *expected;
  } catch (...) {
    static const std::string empty;
    return empty;  // never the unredacted body
  }
}

SessionState::SessionState(std::string id, const std::string& nonce, std::string trace_body,
                           std::shared_ptr<Pipeline> pipeline)
    : info_(std::make_shared<const SessionInfo>(std::move(id), nonce, std::move(trace_body))),
      info_generation_(fork_generation()),
      pipeline_(std::move(pipeline)) {}

void SessionState::renew_after_fork() noexcept {
  try {
    std::lock_guard<std::mutex> lock(renew_mutex_);
    const std::uint64_t generation = fork_generation();
    if (info_generation_.load(std::memory_order_relaxed) == generation) return;  // another thread did
    info_ = std::make_shared<const SessionInfo>(info_->id(), new_nonce(), info_->trace_body());
    info_generation_.store(generation, std::memory_order_release);
  } catch (...) {
    // Out of memory: keep the parent's identity (the server may then drop these as duplicates).
  }
}

namespace {

// Rough size of a JSON value, for the queue's byte bound. It descends only as deep as the
// writer does (kMaxJsonDepth): deeper containers are written as the marker, and recursing into
// them could overflow the caller's stack. `depth` is the level `j` has if it is a container.
std::size_t approx_size(const nlohmann::json& j, int depth = 1) {
  switch (j.type()) {
    case nlohmann::json::value_t::string: return j.get_ref<const std::string&>().size() + 8;
    case nlohmann::json::value_t::array: {
      if (depth > kMaxJsonDepth) return json_depth_marker().size() + 8;
      std::size_t n = 16;
      for (const auto& item : j) n += approx_size(item, depth + 1);
      return n;
    }
    case nlohmann::json::value_t::object: {
      if (depth > kMaxJsonDepth) return json_depth_marker().size() + 8;
      std::size_t n = 16;
      for (auto it = j.begin(); it != j.end(); ++it) n += it.key().size() + 8 + approx_size(it.value(), depth + 1);
      return n;
    }
    default: return 8;
  }
}

std::size_t approx_size(const Value& v) {
  if (auto* s = std::get_if<std::string>(&v)) return s->size() + 8;
  if (auto* j = std::get_if<nlohmann::json>(&v)) return approx_size(*j);
  return 8;
}

nlohmann::json string_list(const std::vector<std::string>& items) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : items) list.push_back(s);
  return list;
}

nlohmann::json optional_string(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

/// Builds and submits one event: the steps of contract §2.3, in its order.
class EventBuilder {
 public:
  EventBuilder(const std::shared_ptr<SessionState>& state, EventType type) : state_(state) { event_.type = type; }

  Payload& payload() noexcept { return event_.payload; }
  Event& event() noexcept { return event_; }

  bool submit(nlohmann::json metadata, bool is_end = false) noexcept {
    SessionState* st = state_.get();
    if (!st) return false;
    Pipeline& pipeline = *st->pipeline();
    if (!pipeline.accepting()) return false;
    // 1. seq. Events after session_end are dropped (and counted), unlike the reference.
    // A second end() records nothing and is not a drop: end is idempotent (contract §2.2).
    if (is_end) {
      if (!st->take_end_seq(event_.seq)) return false;
    } else if (!st->next_seq(event_.seq)) {
      pipeline.count_dropped_after_end();
      return false;
    }
    // 2. envelope; metadata only when non-empty.
    event_.session = st->info();
    event_.time_us = now_unix_us();
    if (metadata.is_object() && !metadata.empty()) {
      event_.metadata = std::move(metadata);
    } else if (!metadata.is_null() && !metadata.is_object()) {
      event_.metadata = nullptr;  // only objects are attached
    }
    // 3. span stamps from this thread's open spans of this session.
    stamp_span(event_, st);
    // 5. validation: helpers build valid envelopes by construction; the one rule a caller can
    //    break is an empty llm_call model (contract §1.3 item 9).
    if (event_.type == EventType::llm_call) {
      const auto* model = std::get_if<std::string>(&event_.payload[0].value);
      if (!model || model->empty()) {
        log_warn("dropping llm_call: llm_call.payload.model must be nonempty");
        pipeline.count_dropped_invalid();
        return false;
      }
    }
    std::size_t bytes = sizeof(Event) + st->info()->key_prefix().size();
    for (std::size_t i = 0; i < event_.payload.size(); ++i) bytes += approx_size(event_.payload[i].value);
    if (!event_.metadata.is_null()) bytes += approx_size(event_.metadata);
    event_.approx_bytes = static_cast<std::uint32_t>(std::min<std::size_t>(bytes, UINT32_MAX));
    // 9. deliver.
    return pipeline.enqueue(std::move(event_));
  }

 private:
  const std::shared_ptr<SessionState>& state_;
  Event event_;
};

bool record_span_start(const std::shared_ptr<SessionState>& session, const std::string& name,
                       nlohmann::json metadata) noexcept {
  if (!session) return false;
  try {
    EventBuilder b(session, EventType::state_change);
    b.payload().add("name", std::string("span_start"));
    b.payload().add("span_name", name);
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool record_span_end(const std::shared_ptr<SessionState>& session, const std::string& name,
                     double duration_ms, nlohmann::json metadata) noexcept {
  if (!session) return false;
  try {
    EventBuilder b(session, EventType::state_change);
    b.payload().add("name", std::string("span_end"));
    b.payload().add("span_name", name);
    b.payload().add("duration_ms", duration_ms);
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE

namespace promptetheus {
inline namespace v0 {

using detail::EventBuilder;
using detail::EventType;
using json = nlohmann::json;

namespace {

const std::string& noop_id() {
  static const std::string* id = new std::string("noop");
  return *id;
}

// Artifacts (contract §2.5): bytes are kept under <artifact_dir>/<session>/<artifact_id>/<name>
// (written by the worker before the event), and the event references them.
bool record_artifact(const std::shared_ptr<detail::SessionState>& state, EventType type,
                     std::vector<std::uint8_t>* bytes, const std::filesystem::path* file,
                     const std::string* artifact_type, json* event_time_map, json metadata) {
  if (!state) return false;
  EventBuilder b(state, type);
  auto& p = b.payload();
  const bool screenshot = type == EventType::screenshot;
  if (!screenshot) {
    p.add("artifact_type", *artifact_type);
    p.add("event_time_map", event_time_map->is_object() ? std::move(*event_time_map) : json::object());
  }
  std::string filename = "artifact.bin";
  std::uint64_t size = 0;
  bool have_bytes = false;
  std::string copy_from;
  if (bytes) {
    size = bytes->size();
    have_bytes = true;
  } else {
    struct stat st {};
    std::string path = file->string();
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      size = static_cast<std::uint64_t>(st.st_size);
      have_bytes = true;
      copy_from = path;
      filename = file->filename().string();
    }
  }
  if (have_bytes) {
    const std::string ext = screenshot ? ".png" : ".webm";
    std::string lower = filename;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.size() < ext.size() || lower.compare(lower.size() - ext.size(), ext.size(), ext) != 0) {
      filename = std::filesystem::path(filename).stem().string() + ext;
    }
    p.add("size_bytes", static_cast<std::int64_t>(size));
    if (screenshot && bytes) p.add("source_type", std::string("bytes"));
    std::string artifact_id = "artifact_" + detail::new_hex_id();
    auto write = std::make_unique<detail::ArtifactWrite>();
    write->storage_path = state->pipeline()->options().artifact_dir + "/" +
                          detail::safe_session_name(state->id()) + "/" + artifact_id + "/" + filename;
    if (bytes) write->bytes = std::move(*bytes);
    write->copy_from = copy_from;
    p.add("artifact_id", artifact_id);
    p.add("storage_path", write->storage_path);
    b.event().artifact = std::move(write);
    if (!bytes) p.add("source", file->string());
  } else {
    p.add("source", file->string());
  }
  return b.submit(std::move(metadata));
}

}  // namespace

const std::string& SessionHandle::id() const noexcept { return state_ ? state_->id() : noop_id(); }

policy::SessionCost SessionHandle::cost() const noexcept {
  if (!state_) return {};
  try {
    std::lock_guard<std::mutex> lock(state_->data_mutex);
    return state_->cost;
  } catch (...) {
    return {};  // no memory to copy the unknown model names
  }
}

bool SessionHandle::is_recording() const noexcept {
  return state_ && state_->pipeline()->accepting() && !state_->ended();
}

bool SessionHandle::user_message(std::string content, json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::user_message);
    b.payload().add("content", std::move(content));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::agent_message(std::string content, json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::agent_message);
    b.payload().add("content", std::move(content));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

std::string SessionHandle::tool_call(std::string tool_name, json arguments, std::string call_id,
                                     json metadata) const noexcept {
  if (!state_) return {};
  try {
    if (call_id.empty()) call_id = detail::new_hex_id();
    EventBuilder b(state_, EventType::tool_call);
    b.payload().add("tool_name", std::move(tool_name));
    b.payload().add("arguments", arguments.is_null() ? json::object() : std::move(arguments));
    b.payload().add("call_id", call_id);
    b.submit(std::move(metadata));
    return call_id;
  } catch (...) {
    return {};
  }
}

bool SessionHandle::tool_result(std::string call_id, json result, std::optional<std::string> error,
                                json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::tool_result);
    b.payload().add("call_id", std::move(call_id));
    b.payload().add("result", std::move(result));
    if (error) b.payload().add("error", std::move(*error));
    else b.payload().add("error", nullptr);
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::retrieval(std::string query, json documents, json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::retrieval);
    b.payload().add("query", std::move(query));
    b.payload().add("documents", std::move(documents));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::browser_action(std::string action, std::string target, std::optional<std::string> url,
                                   json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::browser_action);
    b.payload().add("action", std::move(action));
    b.payload().add("target", std::move(target));
    if (url) b.payload().add("url", std::move(*url));
    else b.payload().add("url", nullptr);
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::dom_snapshot(std::string url, std::string visible_text, json selected_values,
                                 std::vector<std::string> warnings, json metadata) const noexcept {
  if (!state_) return false;
  try {
    EventBuilder b(state_, EventType::dom_snapshot);
    b.payload().add("url", std::move(url));
    b.payload().add("visible_text", std::move(visible_text));
    b.payload().add("selected_values", selected_values.is_null() ? json::object() : std::move(selected_values));
    b.payload().add("warnings", detail::string_list(warnings));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::screenshot(std::vector<std::uint8_t> png_bytes, json metadata) const noexcept {
  try {
    return record_artifact(state_, EventType::screenshot, &png_bytes, nullptr, nullptr, nullptr, std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::screenshot(const std::filesystem::path& file, json metadata) const noexcept {
  try {
    return record_artifact(state_, EventType::screenshot, nullptr, &file, nullptr, nullptr, std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::replay_artifact(std::vector<std::uint8_t> webm_bytes, std::string artifact_type,
                                    json event_time_map, json metadata) const noexcept {
  try {
    return record_artifact(state_, EventType::replay_artifact, &webm_bytes, nullptr, &artifact_type, &event_time_map,
                           std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::replay_artifact(const std::filesystem::path& file, std::string artifact_type,
                                    json event_time_map, json metadata) const noexcept {
  try {
    return record_artifact(state_, EventType::replay_artifact, nullptr, &file, &artifact_type, &event_time_map,
                           std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::llm_call(std::string model, LlmUsage usage, json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    // For the session's cost (cost()), resolved before the model name moves into the event.
    const auto& prices = state_->pipeline()->options().prices;
    const std::optional<policy::Price> price = policy::resolve_price(model, prices ? &*prices : nullptr);
    const std::string unpriced_model = price ? std::string() : model;
    const std::int64_t input_tokens = usage.input_tokens.value_or(0);
    const std::int64_t output_tokens = usage.output_tokens.value_or(0);
    EventBuilder b(state_, EventType::llm_call);
    auto& p = b.payload();
    p.add("model", std::move(model));  // field 0: checked by EventBuilder::submit
    if (usage.input_tokens) p.add("input_tokens", *usage.input_tokens);
    if (usage.output_tokens) p.add("output_tokens", *usage.output_tokens);
    if (usage.latency_ms) p.add("latency_ms", *usage.latency_ms);
    if (usage.messages_ref) p.add("messages_ref", std::move(*usage.messages_ref));
    if (usage.prompt_ref) p.add("prompt_ref", std::move(*usage.prompt_ref));
    const bool queued = b.submit(std::move(metadata));
    if (queued) {
      try {
        std::lock_guard<std::mutex> lock(state_->data_mutex);
        state_->add_cost(unpriced_model, price, input_tokens, output_tokens);
      } catch (...) {
        // Out of memory for an unpriced model's name: the event is recorded, the cost misses it.
      }
    }
    return queued;
  } catch (...) {
    return false;
  }
}

bool SessionHandle::score(std::string name, json value, std::optional<std::string> comment,
                          std::optional<std::string> source, json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::score);
    b.payload().add("name", std::move(name));
    b.payload().add("value", std::move(value));
    if (comment) b.payload().add("comment", std::move(*comment));
    if (source) b.payload().add("source", std::move(*source));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::metric(std::string name, double value, std::optional<std::string> unit,
                           json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::metric);
    b.payload().add("name", std::move(name));
    b.payload().add("value", value);
    if (unit) b.payload().add("unit", std::move(*unit));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::error(const std::exception& exception, std::optional<std::string> error_type, bool handled,
                          json metadata) const noexcept {
  if (!state_) return false;
  try {
    EventBuilder b(state_, EventType::error);
    b.payload().add("handled", handled);
    b.payload().add("message", std::string(exception.what()));
    b.payload().add("error_type", error_type ? std::move(*error_type) : detail::exception_type_name(exception));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::error(std::exception_ptr exception, std::optional<std::string> error_type, bool handled,
                          json metadata) const noexcept {
  if (!state_) return false;
  if (!exception) {
    return error(std::string("unknown exception"), std::move(error_type), handled, std::move(metadata));
  }
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    return error(e, std::move(error_type), handled, std::move(metadata));
  } catch (...) {
    try {
      std::string description = describe_exception(std::current_exception());
      if (description.empty()) return false;  // no memory to describe it
      EventBuilder b(state_, EventType::error);
      b.payload().add("handled", handled);
      b.payload().add("message", description);
      b.payload().add("error_type", error_type ? std::move(*error_type) : description);
      return b.submit(std::move(metadata));
    } catch (...) {
      return false;
    }
  }
}

bool SessionHandle::error(std::string message, std::optional<std::string> error_type, bool handled,
                          json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::error);
    b.payload().add("handled", handled);
    b.payload().add("message", std::move(message));
    if (error_type) b.payload().add("error_type", std::move(*error_type));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::goal_check(bool passed, std::vector<std::string> mismatches, json metadata) const noexcept {
  if (!state_) return false;
  try {
    EventBuilder b(state_, EventType::goal_check);
    b.payload().add("passed", passed);
    b.payload().add("mismatches", detail::string_list(mismatches));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::state_change(std::string name, json before, json after, json metadata) const noexcept {
  if (!state_) return false;
  try {  // a helper never throws into the host (e.g. bad_alloc copying a string)
    EventBuilder b(state_, EventType::state_change);
    b.payload().add("name", std::move(name));
    b.payload().add("before", std::move(before));
    b.payload().add("after", std::move(after));
    return b.submit(std::move(metadata));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::update_metadata(json values) const noexcept {
  if (!state_) return false;
  try {
    if (!values.is_object()) values = json::object();
    detail::bound_json_depth(values);  // its values are copied into the session's metadata
    {
      std::lock_guard<std::mutex> lock(state_->data_mutex);
      for (auto it = values.begin(); it != values.end(); ++it) state_->metadata[it.key()] = it.value();
    }
    return state_change("metadata_update", nullptr, std::move(values));
  } catch (...) {
    return false;
  }
}

bool SessionHandle::add_tags(std::vector<std::string> tags) const noexcept {
  if (!state_) return false;
  std::vector<std::string> added;
  try {
    added.reserve(tags.size());
    {
      std::lock_guard<std::mutex> lock(state_->data_mutex);
      for (auto& tag : tags) {
        if (state_->add_tag(tag)) added.push_back(std::move(tag));
      }
    }
    // Built without an initializer list: its nested temporaries allocate when destroyed.
    json after = json::object();
    after["tags"] = detail::string_list(added);
    return state_change("tags_added", nullptr, std::move(after));
  } catch (...) {
    // Out of memory: the session keeps none of these tags, so that adding them again reports them.
    try {
      std::lock_guard<std::mutex> lock(state_->data_mutex);
      state_->remove_tags(added);
    } catch (...) {
    }
    return false;
  }
}

bool SessionHandle::end(std::string status, std::optional<std::string> error) const noexcept {
  if (!state_) return false;
  bool recorded = false;
  try {
    EventBuilder b(state_, EventType::session_end);
    b.payload().add("status", std::move(status));
    if (error) b.payload().add("error", std::move(*error));
    else b.payload().add("error", nullptr);
    recorded = b.submit(nullptr, /*is_end=*/true);
  } catch (...) {
    return false;
  }
  const Options& options = state_->pipeline()->options();
  if (recorded && options.flush_on_session_end) (void)flush(options.session_end_flush_timeout);
  return recorded;
}

bool SessionHandle::flush(std::chrono::milliseconds timeout) const noexcept {
  if (!state_) return true;
  return state_->pipeline()->flush(timeout);
}

TraceContext SessionHandle::trace_context() const noexcept {
  if (!state_) return {};
  try {
    detail::SpanId span{};
    const auto parent = detail::innermost_span(state_.get(), span) ? detail::otel_span_id(span) : state_->trace.root_span_id;
    return detail::outgoing_context(state_->trace, parent);
  } catch (...) {
    return {};  // out of memory: no context rather than an exception
  }
}

// ---- Session ------------------------------------------------------------------------------

// Not a delegating constructor: building the SessionOptions allocates, and must be inside a try.
Session::Session(std::string agent, std::string user_goal) noexcept : uncaught_at_entry_(std::uncaught_exceptions()) {
  try {
    SessionOptions o;
    o.agent = std::move(agent);
    o.user_goal = std::move(user_goal);
    open(std::move(o));
  } catch (...) {
    detail::log_error("cannot start a session; recording nothing for it");
  }
}

Session::Session(SessionOptions options) noexcept : uncaught_at_entry_(std::uncaught_exceptions()) {
  open(std::move(options));
}

void Session::open(SessionOptions options) noexcept {
  try {
    std::shared_ptr<detail::Pipeline> pipeline =
        options.client ? detail::ClientAccess::pipeline(*options.client) : detail::default_pipeline();
    if (pipeline) pipeline = pipeline->active_shared();
    if (!pipeline || !pipeline->accepting()) return;  // a no-op session
    const Options& client_options = pipeline->options();
    std::string id = options.session_id.empty() ? detail::new_ulid() : std::move(options.session_id);
    // Head sampling (contract §7.6): a session not sampled is a no-op, so its helpers cost what
    // a no-op handle's cost and nothing of it is queued, written or sent. Under tail sampling
    // every session records and is decided at its end (contract §2.3, step 9).
    if (!client_options.tail_sample && client_options.sample_rate < 1.0 &&
        !policy::head_sampled(id, client_options.sample_rate)) {
      pipeline->count_session_sampled_out();
      // It still becomes current (as a no-op), so that what runs inside it is not recorded
      // into an enclosing session.
      if (auto* ctx = detail::thread_context()) {
        ctx->sessions.push_back(nullptr);
        sampled_out_on_ = ctx;
      }
      return;
    }
    std::string project_id = options.project_id.empty() ? client_options.project_id : std::move(options.project_id);
    std::string environment = options.environment.empty() ? client_options.environment : std::move(options.environment);
    json metadata = options.metadata.is_object() ? std::move(options.metadata) : json::object();
    detail::bound_json_depth(metadata);  // it is copied into session_started below
    detail::TraceIdentity trace = detail::trace_identity(id, options.trace_context);
    if (const TraceContext& incoming = options.trace_context; incoming.valid()) {
      // Recorded so that exporters parent the run under the caller's span from the events alone.
      const auto keep_or_set = [&](const char* key, std::string value) {
        if (!metadata.contains(key)) metadata[key] = std::move(value);
      };
      keep_or_set(detail::kTraceIdKey, incoming.trace_id());
      keep_or_set(detail::kParentSpanIdKey, incoming.parent_id());
      keep_or_set(detail::kTraceFlagsKey, incoming.traceparent().substr(53, 2));
      if (!incoming.tracestate().empty()) keep_or_set(detail::kTracestateKey, incoming.tracestate());
    }
    std::vector<std::string> tags;
    {
      std::unordered_set<std::string> seen;  // the first of equal tags, in the order given
      for (auto& tag : options.tags) {
        if (seen.insert(tag).second) tags.push_back(std::move(tag));
      }
    }
    // Everything that can fail (run out of memory) comes before the session becomes current.
    // No initializer list: its nested temporaries allocate when destroyed.
    json after = json::object();
    after["agent"] = options.agent;
    after["user_goal"] = options.user_goal;
    after["project_id"] = detail::optional_string(project_id);
    after["environment"] = detail::optional_string(environment);
    after["tags"] = detail::string_list(tags);
    std::string trace_body = detail::make_trace_body(id, after, metadata);
    auto state = std::make_shared<detail::SessionState>(std::move(id), detail::new_nonce(),
                                                        std::move(trace_body), pipeline);
    state->trace = std::move(trace);
    state->agent = std::move(options.agent);
    state->user_goal = std::move(options.user_goal);
    state->project_id = std::move(project_id);
    state->environment = std::move(environment);
    state->metadata = metadata;  // bounded in depth above, so the copy cannot overflow the stack
    for (const auto& tag : tags) state->add_tag(tag);
    if (auto* ctx = detail::thread_context()) ctx->sessions.push_back(state);
    state_ = std::move(state);
    // Session metadata rides on session_started so that every consumer (replay, import, the
    // trace body of a session read back from the spool) can rebuild the trace from the events.
    state_change("session_started", nullptr, std::move(after), std::move(metadata));
  } catch (...) {
    detail::log_error("cannot start a session; recording nothing for it");
    state_.reset();
  }
}

Session::~Session() {
  if (sampled_out_on_ != nullptr && sampled_out_on_ == detail::thread_context()) {
    auto& sessions = static_cast<detail::ThreadContext*>(sampled_out_on_)->sessions;
    for (auto it = sessions.rbegin(); it != sessions.rend(); ++it) {
      if (*it == nullptr) {
        sessions.erase(std::next(it).base());
        break;
      }
    }
  }
  if (!state_) return;
  try {
    if (std::uncaught_exceptions() > uncaught_at_entry_) {
      end("failed", detail::describe_unwinding_exception());
    } else {
      end("completed");
    }
    if (auto* ctx = detail::thread_context()) {
      auto& sessions = ctx->sessions;
      for (auto it = sessions.rbegin(); it != sessions.rend(); ++it) {
        if (*it == state_) {
          sessions.erase(std::next(it).base());
          break;
        }
      }
    }
  } catch (...) {
  }
}

bool Session::fail(std::exception_ptr exception) const noexcept {
  return end("failed", describe_exception(exception));
}

}  // namespace v0
}  // namespace promptetheus
