#include "dev/otlp_span_record.hpp"

#include <charconv>
#include <optional>

#include "core/ids.hpp"

namespace promptetheus::devserver {

namespace {

constexpr std::string_view kFormat = "otlp-span/1";

void put_field(std::string& out, std::string_view bytes) {
  out += std::to_string(bytes.size());
  out += ':';
  out.append(bytes.data(), bytes.size());
}

// The last member of every event's metadata (see map_otlp_request).
std::string trace_id_tail(std::string_view trace_id) {
  std::string tail = ",\"otel.trace_id\":\"";
  tail.append(trace_id.data(), trace_id.size());
  tail += "\"}";
  return tail;
}

// Reads the fields of a record in order; any malformed length ends it.
class FieldReader {
 public:
  explicit FieldReader(std::string_view record) : rest_(record) {}
  std::optional<std::string_view> next() {
    std::size_t length = 0;
    const char* end = rest_.data() + rest_.size();
    auto [colon, ec] = std::from_chars(rest_.data(), end, length);
    if (ec != std::errc() || colon == end || *colon != ':') return std::nullopt;
    const auto digits = static_cast<std::size_t>(colon - rest_.data());
    if (length > rest_.size() - digits - 1) return std::nullopt;
    const std::string_view field = rest_.substr(digits + 1, length);
    rest_.remove_prefix(digits + 1 + length);
    return field;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace

std::string encode_otlp_span_record(const std::vector<const OtlpEvent*>& events, const std::string& trace_id,
                                    const std::string* parent_id, const std::string& workspace_id,
                                    const std::string& project_id) {
  std::string out;
  put_field(out, kFormat);
  put_field(out, trace_id);
  const std::string_view span_id = events.empty() ? std::string_view() : std::string_view(events.front()->span_id);
  put_field(out, span_id.size() > 5 ? span_id.substr(5) : std::string_view());  // "span_<16 hex>"
  put_field(out, parent_id ? std::string_view(*parent_id) : std::string_view());
  put_field(out, workspace_id);
  put_field(out, project_id);
  const std::string tail = trace_id_tail(trace_id);
  std::string metadata;
  for (const OtlpEvent* event : events) {
    put_field(out, std::to_string(event->time_unix_nano));
    put_field(out, event->type);
    put_field(out, event->payload);
    const std::string& whole = event->metadata;
    const bool ends_with_tail =
        whole.size() >= tail.size() && whole.compare(whole.size() - tail.size(), tail.size(), tail) == 0;
    metadata.assign(1, ends_with_tail ? 'T' : 'W');
    metadata.append(whole, 0, ends_with_tail ? whole.size() - tail.size() : whole.size());
    put_field(out, metadata);
  }
  return out;
}

bool decode_otlp_span_record(std::string_view record, const std::string& session_id,
                             std::vector<SpanRecordEvent>& out) {
  FieldReader fields(record);
  const auto format = fields.next();
  const auto trace_id = fields.next();
  const auto span_hex = fields.next();
  const auto parent = fields.next();
  const auto workspace_id = fields.next();
  const auto project_id = fields.next();
  if (!format || *format != kFormat || !trace_id || !span_hex || !parent || !workspace_id || !project_id) {
    return false;
  }
  const std::string parent_id(*parent);
  const std::string workspace(*workspace_id);
  const std::string project(*project_id);
  const std::string tail = trace_id_tail(*trace_id);
  const std::size_t size_before = out.size();
  OtlpEvent event;
  event.span_id = "span_" + std::string(*span_hex);
  for (std::size_t n = 0; !fields.done(); ++n) {
    const auto time = fields.next();
    const auto type = fields.next();
    const auto payload = fields.next();
    const auto metadata = fields.next();
    std::int64_t time_unix_nano = 0;
    bool time_read = false;
    if (time && !time->empty()) {
      const auto [end, ec] = std::from_chars(time->data(), time->data() + time->size(), time_unix_nano);
      time_read = ec == std::errc() && end == time->data() + time->size();
    }
    if (!time_read || !type || !payload || !metadata || metadata->empty() ||
        (metadata->front() != 'T' && metadata->front() != 'W') || (*type != "state_change" && *type != "error")) {
      out.resize(size_before);
      return false;
    }
    // The fields map_otlp_request derives from the span's ids and the event's time.
    event.time_unix_nano = time_unix_nano;
    event.type = *type == "error" ? "error" : "state_change";
    event.timestamp.clear();
    detail::append_timestamp(event.timestamp, time_unix_nano / 1000);
    event.idempotency_key = otlp_idempotency_key(*trace_id, *span_hex, n);
    event.payload.assign(payload->data(), payload->size());
    event.metadata.assign(metadata->data() + 1, metadata->size() - 1);
    if (metadata->front() == 'T') event.metadata += tail;
    SpanRecordEvent& text = out.emplace_back();
    text.time_unix_nano = time_unix_nano;
    otlp_event_text(event, session_id, parent_id.empty() ? nullptr : &parent_id, workspace, project, text.head,
                    text.tail);
  }
  return true;
}

}  // namespace promptetheus::devserver
