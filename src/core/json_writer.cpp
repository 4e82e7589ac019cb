#include "core/json_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/ids.hpp"
#include "core/utf8.hpp"
#include "core/session_state.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

const char kHex[] = "0123456789abcdef";

void append_u16_escape(std::string& out, unsigned code) {
  char buf[6] = {'\\', 'u', kHex[(code >> 12) & 15], kHex[(code >> 8) & 15], kHex[(code >> 4) & 15],
                 kHex[code & 15]};
  out.append(buf, 6);
}

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp >= 0x10000) {
    cp -= 0x10000;
    append_u16_escape(out, 0xD800 + (cp >> 10));
    append_u16_escape(out, 0xDC00 + (cp & 0x3FF));
  } else {
    append_u16_escape(out, cp);
  }
}

}  // namespace

namespace {
// Bytes that cannot be copied as they are: '"', '\\', control characters, DEL and non-ASCII.
struct EscapeTable {
  bool special[256];
  constexpr EscapeTable() : special() {
    for (int c = 0; c < 256; ++c) special[c] = c < 0x20 || c >= 0x7F || c == '"' || c == '\\';
  }
};
constexpr EscapeTable kEscape;
}  // namespace

namespace {

// A code point that cannot be copied as it is: json.dumps's short escapes, else \uXXXX.
void append_escaped(std::string& out, std::uint32_t cp) {
  switch (cp) {
    case '"': out.append("\\\"", 2); return;
    case '\\': out.append("\\\\", 2); return;
    case '\n': out.append("\\n", 2); return;
    case '\r': out.append("\\r", 2); return;
    case '\t': out.append("\\t", 2); return;
    case '\b': out.append("\\b", 2); return;
    case '\f': out.append("\\f", 2); return;
    default: append_code_point(out, cp); return;
  }
}

template <class Decode>
void write_json_string_as(std::string& out, std::string_view text, Decode decode) {
  out += '"';
  const char* data = text.data();
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    // Copy the longest run of bytes that need no escape in one append.
    std::size_t run = i;
    while (run < size && !kEscape.special[static_cast<unsigned char>(data[run])]) ++run;
    if (run > i) {
      out.append(data + i, run - i);
      i = run;
      if (i >= size) break;
    }
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c < 0x80) {
      append_escaped(out, c);
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t len = decode(text, i, cp);
    if (len == 0) {
      append_u16_escape(out, 0xFFFD);
      ++i;
    } else {
      append_escaped(out, cp);  // a lenient decoder may yield ASCII from an overlong form
      i += len;
    }
  }
  out += '"';
}

}  // namespace

void write_json_string(std::string& out, std::string_view text) {
  write_json_string_as(out, text, [](std::string_view s, std::size_t i, std::uint32_t& cp) {
    return decode_utf8(s, i, cp);
  });
}

void write_json_string(std::string& out, std::string_view text, Utf8Decoder decode) {
  write_json_string_as(out, text, decode);
}

void write_python_float(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "nan";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "inf" : "-inf";
    return;
  }
  // Shortest round-trip digits, then Python's repr layout: positional notation for decimal
  // exponents in [-4, 16), scientific otherwise, always with a fraction or an exponent.
  char sci[64];
  auto res = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific);
  std::string_view s(sci, static_cast<std::size_t>(res.ptr - sci));
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  std::size_t e_pos = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  int exponent = std::atoi(std::string(s.substr(e_pos + 1)).c_str());
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (negative) out += '-';
  int n = static_cast<int>(digits.size());
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out += digits;
    } else if (exponent + 1 >= n) {
      out += digits;
      out.append(static_cast<std::size_t>(exponent + 1 - n), '0');
      out += ".0";
    } else {
      out.append(digits, 0, static_cast<std::size_t>(exponent + 1));
      out += '.';
      out.append(digits, static_cast<std::size_t>(exponent + 1), std::string::npos);
    }
  } else {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += exponent < 0 ? '-' : '+';
    int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
  }
}

void write_json_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  write_python_float(out, value);
}

namespace {
template <class Int>
void write_integer(std::string& out, Int value) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}
}  // namespace

const std::string& json_depth_marker() {
  static const std::string* marker =
      new std::string("[truncated: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels]");
  return *marker;
}

namespace {

void bound_depth_at(nlohmann::json& value, int depth) {
  if (!value.is_array() && !value.is_object()) return;
  if (depth > kMaxJsonDepth) {
    value = json_depth_marker();  // nlohmann::json destroys the subtree without recursion
    return;
  }
  for (auto& item : value) bound_depth_at(item, depth + 1);
}

}  // namespace

void bound_json_depth(nlohmann::json& value) { bound_depth_at(value, 1); }

namespace {

// `depth` is the nesting level `value` has if it is a container (1 for the value written).
void write_json_at(std::string& out, const nlohmann::json& value, int depth) {
  using T = nlohmann::json::value_t;
  if ((value.is_array() || value.is_object()) && depth > kMaxJsonDepth) {
    write_json_string(out, json_depth_marker());
    return;
  }
  switch (value.type()) {
    case T::null:
    case T::discarded:
    case T::binary:
      out += "null";
      return;
    case T::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case T::number_integer:
      write_integer(out, value.get<std::int64_t>());
      return;
    case T::number_unsigned:
      write_integer(out, value.get<std::uint64_t>());
      return;
    case T::number_float:
      write_json_double(out, value.get<double>());
      return;
    case T::string:
      write_json_string(out, value.get_ref<const std::string&>());
      return;
    case T::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ',';
        first = false;
        write_json_at(out, item, depth + 1);
      }
      out += ']';
      return;
    }
    case T::object: {
      // nlohmann::json keeps objects in a std::map: byte order of UTF-8 keys is code point order.
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        write_json_string(out, it.key());
        out += ':';
        write_json_at(out, it.value(), depth + 1);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

void write_json(std::string& out, const nlohmann::json& value) { write_json_at(out, value, 1); }

void write_value(std::string& out, const Value& value) {
  struct Visitor {
    std::string& out;
    void operator()(std::nullptr_t) const { out += "null"; }
    void operator()(bool b) const { out += b ? "true" : "false"; }
    void operator()(std::int64_t i) const { write_integer(out, i); }
    void operator()(double d) const { write_json_double(out, d); }
    void operator()(const std::string& s) const { write_json_string(out, s); }
    void operator()(const nlohmann::json& j) const { write_json(out, j); }
  };
  std::visit(Visitor{out}, value);
}

namespace {
template <std::size_t N>
void append_literal(std::string& out, const char (&text)[N]) {
  out.append(text, N - 1);
}
}  // namespace

namespace {

// A small stack buffer for the fixed-format end of the envelope: one append instead of a dozen.
struct TailBuffer {
  char data[512];
  std::size_t size = 0;
  template <std::size_t N>
  void literal(const char (&text)[N]) {
    std::memcpy(data + size, text, N - 1);
    size += N - 1;
  }
  void bytes(const char* p, std::size_t n) {
    std::memcpy(data + size, p, n);
    size += n;
  }
};

// },"seq":N,"session_id":"…"[,"span_id":"span_…"],"timestamp":"…","type":"…"}
void write_envelope_tail(std::string& out, const Event& event, const SessionInfo& session) {
  const std::string& id = session.json_id();
  if (id.size() > 256) {  // unusually long ids take the general path
    append_literal(out, "},\"seq\":");
    write_integer(out, event.seq);
    append_literal(out, ",\"session_id\":");
    out += id;
    if (event.has_span) {
      append_literal(out, ",\"span_id\":\"span_");
      append_hex(out, event.span_id);
      out += '"';
    }
    append_literal(out, ",\"timestamp\":\"");
    append_timestamp(out, event.time_us);
    append_literal(out, "\",\"type\":\"");
    out.append(event_type_name(event.type));
    append_literal(out, "\"}");
    return;
  }
  TailBuffer b;
  b.literal("},\"seq\":");
  auto res = std::to_chars(b.data + b.size, b.data + b.size + 24, event.seq);
  b.size = static_cast<std::size_t>(res.ptr - b.data);
  b.literal(",\"session_id\":");
  b.bytes(id.data(), id.size());
  if (event.has_span) {
    static const char kHexDigits[] = "0123456789abcdef";
    b.literal(",\"span_id\":\"span_");
    for (std::uint8_t c : event.span_id) {
      b.data[b.size++] = kHexDigits[c >> 4];
      b.data[b.size++] = kHexDigits[c & 15];
    }
    b.data[b.size++] = '"';
  }
  b.literal(",\"timestamp\":\"");
  format_timestamp(b.data + b.size, event.time_us);
  b.size += kTimestampLength;
  b.literal("\",\"type\":\"");
  const char* type = event_type_name(event.type);
  b.bytes(type, std::strlen(type));
  b.literal("\"}");
  out.append(b.data, b.size);
}

}  // namespace

void write_event(std::string& out, const Event& event) {
  const SessionInfo& session = *event.session;
  // Envelope keys in sorted order: idempotency_key, metadata, parent_id, payload, seq,
  // session_id, span_id, timestamp, type.
  append_literal(out, "{\"idempotency_key\":");
  out += session.json_key_prefix();
  write_integer(out, event.seq);
  out += '"';
  if (!event.metadata.is_null()) {
    append_literal(out, ",\"metadata\":");
    write_json(out, event.metadata);
  }
  if (event.has_span) {
    if (event.has_parent) {
      append_literal(out, ",\"parent_id\":\"span_");
      append_hex(out, event.parent_id);
      out += '"';
    } else {
      append_literal(out, ",\"parent_id\":null");
    }
  }
  append_literal(out, ",\"payload\":{");
  // Helpers add fields in any order; write them sorted by key.
  const Payload& payload = event.payload;
  std::size_t order[Payload::kMaxFields];
  for (std::size_t i = 0; i < payload.size(); ++i) order[i] = i;
  std::sort(order, order + payload.size(),
            [&](std::size_t a, std::size_t b) { return std::strcmp(payload[a].key, payload[b].key) < 0; });
  for (std::size_t k = 0; k < payload.size(); ++k) {
    const Field& field = payload[order[k]];
    if (k > 0) out += ',';
    out += '"';
    out.append(field.key);  // helper keys are plain ASCII identifiers
    out.append("\":", 2);
    write_value(out, field.value);
  }
  write_envelope_tail(out, event, session);
}

std::string canonical_json(const nlohmann::json& value) {
  std::string out;
  write_json(out, value);
  return out;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
