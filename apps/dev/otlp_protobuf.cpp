#include "dev/otlp_protobuf.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <utility>

#include "core/utf8.hpp"

namespace promptetheus::devserver {
namespace {

using nlohmann::json;

enum WireType : std::uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5,
};

// Arrays and kvlists inside each other: OTLP attribute values are never this deep in practice,
// and the bound keeps the recursion (a few frames per level) far from the stack's end.
constexpr int kMaxAnyValueNesting = 64;

// The longest varint: ten 7-bit groups cover 64 bits.
constexpr int kMaxVarintBytes = 10;

struct Field {
  std::uint32_t number = 0;
  std::uint32_t wire_type = 0;
  std::uint64_t integer = 0;  // the value of a varint, fixed64 or fixed32 field
  std::string_view bytes;     // the payload of a length-delimited field
};

// Reads one message's fields in order, whatever their numbers; the message decoders decide
// which fields they know.
class FieldReader {
 public:
  explicit FieldReader(std::string_view message) : rest_(message) {}

  // The next field, or false at the end of the message or when the bytes are malformed; in the
  // latter case `error` is set.
  bool next(Field& field, std::string& error) {
    if (rest_.empty()) return false;
    std::uint64_t tag = 0;
    if (!read_varint(tag, error)) return false;
    // Field numbers are at most 2^29 - 1, so a tag beyond 32 bits is not one.
    if (tag > 0xffffffffu || (tag >> 3) == 0) {
      error = "invalid field number";
      return false;
    }
    field.number = static_cast<std::uint32_t>(tag >> 3);
    field.wire_type = static_cast<std::uint32_t>(tag & 7u);
    field.integer = 0;
    field.bytes = {};
    switch (field.wire_type) {
      case kVarint:
        return read_varint(field.integer, error);
      case kFixed64:
        return read_fixed(8, field.integer, "truncated fixed64 field", error);
      case kFixed32:
        return read_fixed(4, field.integer, "truncated fixed32 field", error);
      case kLengthDelimited: {
        std::uint64_t length = 0;
        if (!read_varint(length, error)) return false;
        if (length > rest_.size()) {
          error = "truncated length-delimited field";
          return false;
        }
        field.bytes = rest_.substr(0, static_cast<std::size_t>(length));
        rest_.remove_prefix(static_cast<std::size_t>(length));
        return true;
      }
      case 3:
      case 4:
        error = "group wire type " + std::to_string(field.wire_type) + " not supported";
        return false;
      default:
        error = "invalid wire type " + std::to_string(field.wire_type);
        return false;
    }
  }

 private:
  bool read_varint(std::uint64_t& value, std::string& error) {
    value = 0;
    for (int index = 0; index < kMaxVarintBytes; ++index) {
      if (rest_.empty()) {
        error = "truncated varint";
        return false;
      }
      const auto byte = static_cast<std::uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      if (index == kMaxVarintBytes - 1) {
        if (byte & 0x80u) {
          error = "varint longer than 10 bytes";
          return false;
        }
        // The tenth group holds only the 64th bit.
        if (byte > 1) {
          error = "varint overflows 64 bits";
          return false;
        }
      }
      value |= static_cast<std::uint64_t>(byte & 0x7fu) << (7 * index);
      if ((byte & 0x80u) == 0) break;
    }
    return true;
  }

  bool read_fixed(std::size_t size, std::uint64_t& value, const char* truncated, std::string& error) {
    if (rest_.size() < size) {
      error = truncated;
      return false;
    }
    value = 0;
    // Little-endian on the wire whatever the host's byte order.
    for (std::size_t index = 0; index < size; ++index) {
      value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(rest_[index])) << (8 * index);
    }
    rest_.remove_prefix(size);
    return true;
  }

  std::string_view rest_;
};

struct KnownField {
  std::uint32_t number;
  WireType wire_type;
};

constexpr KnownField kRequestFields[] = {{1, kLengthDelimited}};
constexpr KnownField kResourceSpansFields[] = {
    {1, kLengthDelimited}, {2, kLengthDelimited}, {3, kLengthDelimited}};
constexpr KnownField kResourceFields[] = {{1, kLengthDelimited}, {2, kVarint}};
constexpr KnownField kScopeSpansFields[] = {
    {1, kLengthDelimited}, {2, kLengthDelimited}, {3, kLengthDelimited}};
constexpr KnownField kScopeFields[] = {
    {1, kLengthDelimited}, {2, kLengthDelimited}, {3, kLengthDelimited}, {4, kVarint}};
constexpr KnownField kSpanFields[] = {
    {1, kLengthDelimited}, {2, kLengthDelimited}, {3, kLengthDelimited}, {4, kLengthDelimited},
    {5, kLengthDelimited}, {6, kVarint},          {7, kFixed64},          {8, kFixed64},
    {9, kLengthDelimited}, {10, kVarint},         {11, kLengthDelimited}, {12, kVarint},
    {13, kLengthDelimited}, {14, kVarint},        {15, kLengthDelimited}, {16, kFixed32}};
constexpr KnownField kEventFields[] = {
    {1, kFixed64}, {2, kLengthDelimited}, {3, kLengthDelimited}, {4, kVarint}};
constexpr KnownField kLinkFields[] = {
    {1, kLengthDelimited}, {2, kLengthDelimited}, {3, kLengthDelimited},
    {4, kLengthDelimited}, {5, kVarint},          {6, kFixed32}};
constexpr KnownField kStatusFields[] = {{2, kLengthDelimited}, {3, kVarint}};
constexpr KnownField kKeyValueFields[] = {{1, kLengthDelimited}, {2, kLengthDelimited}};
constexpr KnownField kAnyValueFields[] = {
    {1, kLengthDelimited}, {2, kVarint},          {3, kVarint},          {4, kFixed64},
    {5, kLengthDelimited}, {6, kLengthDelimited}, {7, kLengthDelimited}};
// ArrayValue and KeyValueList share the shape: values = 1, repeated.
constexpr KnownField kValuesFields[] = {{1, kLengthDelimited}};

// `bytes` as a JSON string: protobuf strings should be UTF-8 but the wire does not enforce it,
// and json::dump throws on invalid UTF-8, so each byte that does not start a valid sequence
// becomes U+FFFD, as the canonical JSON writer writes it.
json utf8_string(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size());
  std::size_t position = 0;
  while (position < bytes.size()) {
    std::uint32_t code_point = 0;
    const std::size_t length = static_cast<std::uint8_t>(bytes[position]) < 0x80
                                   ? 1
                                   : detail::decode_utf8(bytes, position, code_point);
    if (length > 0) {
      text.append(bytes.substr(position, length));
      position += length;
    } else {
      text.append("\xef\xbf\xbd");
      ++position;
    }
  }
  return json(std::move(text));
}

json lowercase_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0fu]);
  }
  return json(std::move(hex));
}

json base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t index = 0; index < bytes.size(); index += 3) {
    const std::size_t available = bytes.size() - index;
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[index])) << 16;
    if (available > 1) group |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[index + 1])) << 8;
    if (available > 2) group |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[index + 2]));
    text.push_back(kAlphabet[(group >> 18) & 0x3fu]);
    text.push_back(kAlphabet[(group >> 12) & 0x3fu]);
    text.push_back(available > 1 ? kAlphabet[(group >> 6) & 0x3fu] : '=');
    text.push_back(available > 2 ? kAlphabet[group & 0x3fu] : '=');
  }
  return json(std::move(text));
}

// Proto3 narrows a varint to a 32-bit field by keeping its low 32 bits.
json uint32_value(std::uint64_t varint) { return json(static_cast<std::uint32_t>(varint)); }
json enum_value(std::uint64_t varint) {
  return json(static_cast<std::int32_t>(static_cast<std::uint32_t>(varint)));
}
// 64-bit integers are decimal strings in OTLP JSON: a JSON reader may hold numbers as doubles.
json uint64_string(std::uint64_t value) { return json(std::to_string(value)); }
json int64_string(std::uint64_t varint) { return json(std::to_string(static_cast<std::int64_t>(varint))); }

json double_value(std::uint64_t bits) {
  double value = 0;
  static_assert(sizeof value == sizeof bits, "double must be 64 bits");
  std::memcpy(&value, &bits, sizeof value);
  if (std::isnan(value)) return json("NaN");
  if (std::isinf(value)) return json(value > 0 ? "Infinity" : "-Infinity");
  return json(value);
}

json single_member(const char* name, json value) {
  json object = json::object();
  object[name] = std::move(value);
  return object;
}

class RequestDecoder {
 public:
  bool request(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kRequestFields, "ExportTraceServiceRequest", field)) {
      json resource_spans;
      if (!decode_resource_spans(field.bytes, resource_spans)) return false;
      out["resourceSpans"].push_back(std::move(resource_spans));
    }
    return error_.empty();
  }

  std::string& error() { return error_; }

 private:
  // The next field of `known` with its expected wire type, skipping fields not in `known`; false
  // at the end of the message or on malformed bytes (error_ set).
  template <std::size_t N>
  bool next_known_field(FieldReader& reader, const KnownField (&known)[N], const char* message_name,
                        Field& field) {
    while (reader.next(field, error_)) {
      for (const KnownField& candidate : known) {
        if (candidate.number != field.number) continue;
        if (candidate.wire_type == field.wire_type) return true;
        error_ = std::string(message_name) + " field " + std::to_string(field.number) + " has wire type " +
                 std::to_string(field.wire_type) + ", expected " + std::to_string(candidate.wire_type);
        return false;
      }
    }
    return false;
  }

  bool decode_resource_spans(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kResourceSpansFields, "ResourceSpans", field)) {
      switch (field.number) {
        case 1: {
          json resource;
          if (!decode_resource(field.bytes, resource)) return false;
          out["resource"] = std::move(resource);
          break;
        }
        case 2: {
          json scope_spans;
          if (!decode_scope_spans(field.bytes, scope_spans)) return false;
          out["scopeSpans"].push_back(std::move(scope_spans));
          break;
        }
        case 3: out["schemaUrl"] = utf8_string(field.bytes); break;
      }
    }
    return error_.empty();
  }

  bool decode_resource(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kResourceFields, "Resource", field)) {
      switch (field.number) {
        case 1:
          if (!append_key_value(field.bytes, 0, out["attributes"])) return false;
          break;
        case 2: out["droppedAttributesCount"] = uint32_value(field.integer); break;
      }
    }
    return error_.empty();
  }

  bool decode_scope_spans(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kScopeSpansFields, "ScopeSpans", field)) {
      switch (field.number) {
        case 1: {
          json scope;
          if (!decode_scope(field.bytes, scope)) return false;
          out["scope"] = std::move(scope);
          break;
        }
        case 2: {
          json span;
          if (!decode_span(field.bytes, span)) return false;
          out["spans"].push_back(std::move(span));
          break;
        }
        case 3: out["schemaUrl"] = utf8_string(field.bytes); break;
      }
    }
    return error_.empty();
  }

  bool decode_scope(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kScopeFields, "InstrumentationScope", field)) {
      switch (field.number) {
        case 1: out["name"] = utf8_string(field.bytes); break;
        case 2: out["version"] = utf8_string(field.bytes); break;
        case 3:
          if (!append_key_value(field.bytes, 0, out["attributes"])) return false;
          break;
        case 4: out["droppedAttributesCount"] = uint32_value(field.integer); break;
      }
    }
    return error_.empty();
  }

  bool decode_span(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kSpanFields, "Span", field)) {
      switch (field.number) {
        case 1: out["traceId"] = lowercase_hex(field.bytes); break;
        case 2: out["spanId"] = lowercase_hex(field.bytes); break;
        case 3: out["traceState"] = utf8_string(field.bytes); break;
        case 4:
          // A root span's parent is empty bytes: absent, as in the JSON form.
          if (field.bytes.empty()) {
            out.erase("parentSpanId");
          } else {
            out["parentSpanId"] = lowercase_hex(field.bytes);
          }
          break;
        case 5: out["name"] = utf8_string(field.bytes); break;
        case 6: out["kind"] = enum_value(field.integer); break;
        case 7: out["startTimeUnixNano"] = uint64_string(field.integer); break;
        case 8: out["endTimeUnixNano"] = uint64_string(field.integer); break;
        case 9:
          if (!append_key_value(field.bytes, 0, out["attributes"])) return false;
          break;
        case 10: out["droppedAttributesCount"] = uint32_value(field.integer); break;
        case 11: {
          json event;
          if (!decode_event(field.bytes, event)) return false;
          out["events"].push_back(std::move(event));
          break;
        }
        case 12: out["droppedEventsCount"] = uint32_value(field.integer); break;
        case 13: {
          json link;
          if (!decode_link(field.bytes, link)) return false;
          out["links"].push_back(std::move(link));
          break;
        }
        case 14: out["droppedLinksCount"] = uint32_value(field.integer); break;
        case 15: {
          json status;
          if (!decode_status(field.bytes, status)) return false;
          out["status"] = std::move(status);
          break;
        }
        case 16: out["flags"] = json(static_cast<std::uint32_t>(field.integer)); break;
      }
    }
    return error_.empty();
  }

  bool decode_event(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kEventFields, "Span.Event", field)) {
      switch (field.number) {
        case 1: out["timeUnixNano"] = uint64_string(field.integer); break;
        case 2: out["name"] = utf8_string(field.bytes); break;
        case 3:
          if (!append_key_value(field.bytes, 0, out["attributes"])) return false;
          break;
        case 4: out["droppedAttributesCount"] = uint32_value(field.integer); break;
      }
    }
    return error_.empty();
  }

  bool decode_link(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kLinkFields, "Span.Link", field)) {
      switch (field.number) {
        case 1: out["traceId"] = lowercase_hex(field.bytes); break;
        case 2: out["spanId"] = lowercase_hex(field.bytes); break;
        case 3: out["traceState"] = utf8_string(field.bytes); break;
        case 4:
          if (!append_key_value(field.bytes, 0, out["attributes"])) return false;
          break;
        case 5: out["droppedAttributesCount"] = uint32_value(field.integer); break;
        case 6: out["flags"] = json(static_cast<std::uint32_t>(field.integer)); break;
      }
    }
    return error_.empty();
  }

  bool decode_status(std::string_view message, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kStatusFields, "Status", field)) {
      switch (field.number) {
        case 2: out["message"] = utf8_string(field.bytes); break;
        case 3: out["code"] = enum_value(field.integer); break;
      }
    }
    return error_.empty();
  }

  // Decodes a KeyValue and appends it to `list` (null or an array). `nesting` is the number of
  // arrays and kvlists the pair is inside.
  bool append_key_value(std::string_view message, int nesting, json& list) {
    json key = "";
    json value = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kKeyValueFields, "KeyValue", field)) {
      switch (field.number) {
        case 1: key = utf8_string(field.bytes); break;
        case 2:
          if (!decode_any_value(field.bytes, nesting, value)) return false;
          break;
      }
    }
    if (!error_.empty()) return false;
    json pair = json::object();
    pair["key"] = std::move(key);
    pair["value"] = std::move(value);
    list.push_back(std::move(pair));
    return true;
  }

  // `nesting` is the number of arrays and kvlists this value is inside.
  bool decode_any_value(std::string_view message, int nesting, json& out) {
    out = json::object();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kAnyValueFields, "AnyValue", field)) {
      // The fields are a oneof: the last one on the wire is the value.
      switch (field.number) {
        case 1: out = single_member("stringValue", utf8_string(field.bytes)); break;
        case 2: out = single_member("boolValue", json(field.integer != 0)); break;
        case 3: out = single_member("intValue", int64_string(field.integer)); break;
        case 4: out = single_member("doubleValue", double_value(field.integer)); break;
        case 5:
        case 6: {
          if (nesting >= kMaxAnyValueNesting) {
            error_ = "nesting deeper than " + std::to_string(kMaxAnyValueNesting);
            return false;
          }
          const bool key_values = field.number == 6;
          json values;
          if (!decode_values(field.bytes, key_values, nesting + 1, values)) return false;
          out = single_member(key_values ? "kvlistValue" : "arrayValue", std::move(values));
          break;
        }
        case 7: out = single_member("bytesValue", base64(field.bytes)); break;
      }
    }
    return error_.empty();
  }

  // An ArrayValue (AnyValues) or KeyValueList (KeyValues): {"values": [...]}.
  bool decode_values(std::string_view message, bool key_values, int nesting, json& out) {
    json values = json::array();
    FieldReader reader(message);
    Field field;
    while (next_known_field(reader, kValuesFields, key_values ? "KeyValueList" : "ArrayValue", field)) {
      if (key_values) {
        if (!append_key_value(field.bytes, nesting, values)) return false;
      } else {
        json value;
        if (!decode_any_value(field.bytes, nesting, value)) return false;
        values.push_back(std::move(value));
      }
    }
    if (!error_.empty()) return false;
    out = json::object();
    out["values"] = std::move(values);
    return true;
  }

  std::string error_;
};

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7fu) | 0x80u));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_tag(std::string& out, std::uint32_t number, WireType wire_type) {
  append_varint(out, (static_cast<std::uint64_t>(number) << 3) | wire_type);
}

void append_length_delimited(std::string& out, std::uint32_t number, std::string_view bytes) {
  append_tag(out, number, kLengthDelimited);
  append_varint(out, bytes.size());
  out.append(bytes);
}

// int32 and int64 fields carry negative values sign-extended to 64 bits (ten bytes).
void append_signed_varint_field(std::string& out, std::uint32_t number, std::int64_t value) {
  append_tag(out, number, kVarint);
  append_varint(out, static_cast<std::uint64_t>(value));
}

}  // namespace

std::optional<nlohmann::json> decode_otlp_trace_request(std::string_view bytes, std::string& error) {
  RequestDecoder decoder;
  json request;
  if (!decoder.request(bytes, request)) {
    error = std::move(decoder.error());
    return std::nullopt;
  }
  return request;
}

std::string encode_otlp_trace_response(std::int64_t rejected_spans, std::string_view error_message) {
  std::string partial_success;
  if (rejected_spans != 0) append_signed_varint_field(partial_success, 1, rejected_spans);
  if (!error_message.empty()) append_length_delimited(partial_success, 2, error_message);
  // Full success is the empty message: senders read an absent partial_success as "all accepted".
  if (partial_success.empty()) return {};
  std::string response;
  append_length_delimited(response, 1, partial_success);
  return response;
}

std::string encode_rpc_status(std::int32_t code, std::string_view message) {
  std::string status;
  if (code != 0) append_signed_varint_field(status, 1, code);
  if (!message.empty()) append_length_delimited(status, 2, message);
  return status;
}

}  // namespace promptetheus::devserver
