#include "transport/spool_line.hpp"

#include <nlohmann/json.hpp>

#include "core/event.hpp"
#include "core/trace_body.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

using json = nlohmann::json;

// SAX events of one line: remembers the top-level session_id, seq, type and idempotency_key,
// and the payload's "name" (what tells session_started apart). nlohmann's SAX parser keeps its
// own nesting on the heap, so a deeply nested line cannot overflow the stack.
class EnvelopeReader final : public nlohmann::json_sax<json> {
 public:
  bool is_object = false;
  std::string session_id;
  std::string type;
  std::string idempotency_key;
  std::string payload_name;
  bool has_seq = false;
  std::uint64_t seq = 0;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t value) override {
    if (at_top() && key_ == "idempotency_key") idempotency_key = std::to_string(value);
    return true;
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (at_top() && key_ == "seq") {
      has_seq = true;
      seq = value;
    } else if (at_top() && key_ == "idempotency_key") {
      idempotency_key = std::to_string(value);
    }
    return true;
  }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& value) override {
    if (at_top()) {
      if (key_ == "session_id") session_id = std::move(value);
      else if (key_ == "type") type = std::move(value);
      else if (key_ == "idempotency_key") idempotency_key = std::move(value);
    } else if (in_payload_ && depth_ == 2 && payload_key_ == "name") {
      payload_name = std::move(value);
    }
    return true;
  }
  bool start_object(std::size_t) override {
    if (depth_ == 0) is_object = true;
    if (depth_ == 1 && key_ == "payload") in_payload_ = true;
    ++depth_;
    return true;
  }
  bool key(string_t& value) override {
    if (depth_ == 1) key_ = std::move(value);
    else if (in_payload_ && depth_ == 2) payload_key_ = std::move(value);
    return true;
  }
  bool end_object() override {
    if (--depth_ == 1) in_payload_ = false;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    if (--depth_ == 1) in_payload_ = false;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool at_top() const { return depth_ == 1; }
  int depth_ = 0;
  bool in_payload_ = false;
  std::string key_;          // the current top-level key
  std::string payload_key_;  // the current key of the payload object
};

// The static name of a known event type, or empty.
std::string_view known_type(const std::string& type) {
  for (std::string_view known : kEventTypes) {
    if (known == type) return known;
  }
  return {};
}

}  // namespace

bool parse_spool_line(std::string_view line, const std::string& fallback_session, EncodedEvent& out) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  if (line.empty()) return false;
  EnvelopeReader reader;
  if (!json::sax_parse(line.begin(), line.end(), &reader) || !reader.is_object) return false;
  out.session_id = reader.session_id.empty() ? fallback_session : std::move(reader.session_id);
  out.seq = reader.has_seq ? reader.seq : 0;
  out.type = known_type(reader.type);
  out.idempotency_key = std::move(reader.idempotency_key);
  out.ends_session = reader.type == "session_end";
  out.starts_session = reader.type == "state_change" && reader.payload_name == "session_started";
  out.trace_body.reset();
  if (out.starts_session) {
    // One line per session: parsing it whole is cheap, and the body must match the SDK's.
    std::string body = trace_body_from_event(json::parse(line.begin(), line.end(), nullptr, false));
    if (!body.empty()) out.trace_body = std::make_shared<const std::string>(std::move(body));
  }
  out.outcome = DeliveryOutcome::pending;
  out.json.assign(line.begin(), line.end());
  return true;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
