#include "core/event_validation.hpp"

#include <cstdint>
#include <cstdio>

#include "core/utf8.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

using json = nlohmann::json;

ValidationError type_error(std::string message) {
  return {ValidationErrorKind::type_error, std::move(message)};
}
ValidationError value_error(std::string message) {
  return {ValidationErrorKind::value_error, std::move(message)};
}

// nlohmann keeps booleans apart from numbers, and parses a token with '.', 'e' or 'E' as a float,
// so "integer" here is exactly Python's "int and not bool" for parsed JSON.
bool is_integer(const json& v) { return v.is_number_integer(); }

bool is_negative(const json& v) {
  return v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0;
}

bool is_empty_string(const json& v) { return v.get_ref<const std::string&>().empty(); }

// One required string field of the envelope: type check, then the non-empty check.
std::optional<ValidationError> check_nonempty_string(const json& event, const char* key) {
  const json& v = event.at(key);
  const std::string name = std::string("event.") + key;
  if (!v.is_string()) return type_error(name + " must be a string");
  if (is_empty_string(v)) return value_error(name + " must be nonempty");
  return std::nullopt;
}

std::optional<ValidationError> check_llm_call_payload(const json& payload) {
  std::string raw_keys;
  for (const char* key : {"prompt", "messages"}) {
    if (payload.contains(key)) raw_keys += (raw_keys.empty() ? "" : ", ") + std::string(key);
  }
  if (!raw_keys.empty()) {
    return value_error("llm_call payload must use prompt_ref/messages_ref, not raw " + raw_keys);
  }

  auto model = payload.find("model");
  if (model == payload.end() || !model->is_string()) {
    return type_error("llm_call.payload.model must be a string");
  }
  if (is_empty_string(*model)) return value_error("llm_call.payload.model must be nonempty");

  for (const char* key : {"input_tokens", "output_tokens", "latency_ms"}) {
    auto it = payload.find(key);
    if (it != payload.end() && !is_integer(*it)) {
      return type_error(std::string("llm_call.payload.") + key + " must be an integer");
    }
  }
  for (const char* key : {"prompt_ref", "messages_ref"}) {
    auto it = payload.find(key);
    if (it != payload.end() && !it->is_string()) {
      return type_error(std::string("llm_call.payload.") + key + " must be a string");
    }
  }
  return std::nullopt;
}

std::optional<ValidationError> validate(const json& event) {
  if (!event.is_object()) return type_error("event must be a mapping");

  std::string missing;
  for (const char* key : {"type", "session_id", "timestamp", "seq", "idempotency_key", "payload"}) {
    if (!event.contains(key)) missing += (missing.empty() ? "" : ", ") + std::string(key);
  }
  if (!missing.empty()) return value_error("event missing required envelope field(s): " + missing);

  const json& type = event.at("type");
  if (!type.is_string()) return type_error("event.type must be a string");
  const auto& type_name = type.get_ref<const std::string&>();
  if (!is_known_event_type(type_name)) {
    return value_error("unknown event type: " + python_str_repr(type_name));
  }

  if (auto e = check_nonempty_string(event, "session_id")) return e;

  if (!event.at("timestamp").is_string()) return type_error("event.timestamp must be a string");

  const json& seq = event.at("seq");
  if (!is_integer(seq)) return type_error("event.seq must be an integer");
  if (is_negative(seq)) return value_error("event.seq must be >= 0");

  if (auto e = check_nonempty_string(event, "idempotency_key")) return e;

  const json& payload = event.at("payload");
  if (!payload.is_object()) return type_error("event.payload must be a mapping");

  if (type_name == "llm_call") {
    if (auto e = check_llm_call_payload(payload)) return e;
  }

  if (event.contains("span_id")) {
    if (auto e = check_nonempty_string(event, "span_id")) return e;
  }

  auto parent = event.find("parent_id");
  if (parent != event.end() && !parent->is_null() && !parent->is_string()) {
    return type_error("event.parent_id must be a string or None");
  }
  return std::nullopt;
}

// The code point at text[i], advancing i past it, or -1 (advancing one byte) when the bytes are
// not valid UTF-8 (see decode_utf8).
long next_code_point(std::string_view text, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    ++i;
    return lead;
  }
  std::uint32_t cp = 0;
  const std::size_t length = decode_utf8(text, i, cp);
  if (length == 0) {
    ++i;
    return -1;
  }
  i += length;
  return static_cast<long>(cp);
}

bool is_printable(long cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return false;
  if (cp == 0x061C || cp == 0x1680 || cp == 0x180E || cp == 0x3000 || cp == 0xFEFF) return false;
  if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F)) return false;
  if ((cp >= 0x205F && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F)) return false;
  if (cp >= 0xE000 && cp <= 0xF8FF) return false;  // private use
  if (cp >= 0xFFF9 && cp <= 0xFFFB) return false;  // interlinear annotation (format)
  if ((cp & 0xFFFE) == 0xFFFE) return false;       // noncharacters U+xxFFFE/U+xxFFFF
  if (cp >= 0xF0000) return false;                 // supplementary private use planes
  return true;
}

void append_hex_escape(std::string& out, long value) {
  char buffer[24];
  if (value <= 0xFF) {
    std::snprintf(buffer, sizeof buffer, "\\x%02lx", value);
  } else if (value <= 0xFFFF) {
    std::snprintf(buffer, sizeof buffer, "\\u%04lx", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "\\U%08lx", value);
  }
  out += buffer;
}

}  // namespace

bool is_known_event_type(std::string_view type) noexcept {
  for (std::string_view known : kEventTypes) {
    if (known == type) return true;
  }
  return false;
}

std::optional<ValidationError> validate_event(const nlohmann::json& event) noexcept {
  try {
    return validate(event);
  } catch (...) {
    // Only allocation can fail above; an event we cannot even describe is still invalid.
    return ValidationError{ValidationErrorKind::value_error, "event could not be validated"};
  }
}

std::string python_str_repr(std::string_view utf8) {
  const bool has_single = utf8.find('\'') != std::string_view::npos;
  const bool has_double = utf8.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';

  std::string out(1, quote);
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t start = i;
    const long cp = next_code_point(utf8, i);
    if (cp < 0) {
      append_hex_escape(out, static_cast<unsigned char>(utf8[start]));
    } else if (cp == '\\' || cp == quote) {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (!is_printable(cp)) {
      append_hex_escape(out, cp);
    } else {
      out.append(utf8.substr(start, i - start));
    }
  }
  out += quote;
  return out;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
