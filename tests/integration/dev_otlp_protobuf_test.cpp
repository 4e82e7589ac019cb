// The dev server's OTLP protobuf decoder and response encoders: requests are written field by
// field with a minimal encoder below, so every byte on the wire is under the test's control
// (unknown fields, wrong wire types, truncations, hostile nesting).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>

#include "dev/otlp_protobuf.hpp"

using nlohmann::json;
using promptetheus::devserver::decode_otlp_trace_request;
using promptetheus::devserver::encode_otlp_trace_response;
using promptetheus::devserver::encode_rpc_status;

namespace {

// Protobuf wire format, just enough to build requests.
std::string varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7fu) | 0x80u));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string tag(std::uint32_t number, std::uint32_t wire_type) {
  return varint((static_cast<std::uint64_t>(number) << 3) | wire_type);
}

std::string varint_field(std::uint32_t number, std::uint64_t value) { return tag(number, 0) + varint(value); }

std::string bytes_field(std::uint32_t number, const std::string& bytes) {
  return tag(number, 2) + varint(bytes.size()) + bytes;
}

std::string little_endian(std::uint64_t value, int size) {
  std::string out;
  for (int index = 0; index < size; ++index) out.push_back(static_cast<char>((value >> (8 * index)) & 0xffu));
  return out;
}

std::string fixed64_field(std::uint32_t number, std::uint64_t value) {
  return tag(number, 1) + little_endian(value, 8);
}

std::string fixed32_field(std::uint32_t number, std::uint32_t value) {
  return tag(number, 5) + little_endian(value, 4);
}

std::string double_field(std::uint32_t number, double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return fixed64_field(number, bits);
}

// One field of every wire type under numbers no OTLP message uses.
std::string unknown_fields() {
  return varint_field(1000, 7) + fixed64_field(1001, 0x1122334455667788u) + bytes_field(1002, "ignored") +
         fixed32_field(1003, 0xdeadbeefu);
}

// AnyValue and KeyValue.
std::string string_value(const std::string& text) { return bytes_field(1, text); }
std::string bool_value(bool value) { return varint_field(2, value ? 1 : 0); }
std::string int_value(std::int64_t value) { return varint_field(3, static_cast<std::uint64_t>(value)); }
std::string double_value(double value) { return double_field(4, value); }
std::string array_value(std::initializer_list<std::string> values) {
  std::string array;
  for (const std::string& value : values) array += bytes_field(1, value);
  return bytes_field(5, array);
}
std::string kvlist_value(std::initializer_list<std::string> pairs) {
  std::string list;
  for (const std::string& pair : pairs) list += bytes_field(1, pair);
  return bytes_field(6, list);
}
std::string bytes_value(const std::string& bytes) { return bytes_field(7, bytes); }
std::string key_value(const std::string& key, const std::string& any_value) {
  return bytes_field(1, key) + bytes_field(2, any_value);
}

// A request holding one span (its Span message bytes) in one resource and scope.
std::string request_with_span(const std::string& span) {
  return bytes_field(1, bytes_field(2, bytes_field(2, span)));
}

// A span whose single attribute "a" has the AnyValue `value`.
std::string request_with_attribute(const std::string& value) {
  return request_with_span(bytes_field(5, "s") + bytes_field(9, key_value("a", value)));
}

json decode_ok(const std::string& bytes) {
  std::string error;
  auto decoded = decode_otlp_trace_request(bytes, error);
  INFO(error);
  REQUIRE(decoded.has_value());
  CHECK(error.empty());
  return *decoded;
}

std::string decode_error(const std::string& bytes) {
  std::string error;
  auto decoded = decode_otlp_trace_request(bytes, error);
  CHECK_FALSE(decoded.has_value());
  CHECK_FALSE(error.empty());
  return error;
}

// at() rather than [] so that a missing member fails the test instead of asserting.
json first_span(const json& request) {
  return request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
}

json first_attribute_value(const json& request) {
  return first_span(request).at("attributes").at(0).at("value");
}

// `depth` arrays inside each other around the int 1.
std::string nested_arrays(int depth) {
  std::string value = int_value(1);
  for (int level = 0; level < depth; ++level) value = array_value({value});
  return value;
}

const std::string kTraceId =
    std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
const std::string kRootSpanId = std::string("\xa1\xb2\xc3\xd4\xe5\xf6\x07\x00", 8);
const std::string kChildSpanId = std::string("\x00\x00\x00\x00\x00\x00\x00\x2a", 8);

}  // namespace

TEST_CASE("a full OTLP request decodes to its OTLP JSON form", "[otlp]") {
  // 2^63 + 1 and 2^53 + 1: neither survives a trip through a double.
  const std::uint64_t start = 9223372036854775809u;
  const std::uint64_t end = 9007199254740993u;

  const std::string resource = bytes_field(1, key_value("service.name", string_value("checkout"))) +
                               varint_field(2, 3) + bytes_field(3, "entity ref, skipped") + unknown_fields();
  const std::string scope = bytes_field(1, "promptetheus") + bytes_field(2, "1.2.3") +
                            bytes_field(3, key_value("scope.kind", string_value("sdk"))) +
                            varint_field(4, 1) + unknown_fields();
  const std::string event = fixed64_field(1, start) + bytes_field(2, "retry") +
                            bytes_field(3, key_value("attempt", int_value(2))) + varint_field(4, 5) +
                            unknown_fields();
  const std::string link = bytes_field(1, kTraceId) + bytes_field(2, kChildSpanId) + bytes_field(3, "k=v") +
                           bytes_field(4, key_value("linked", bool_value(true))) + varint_field(5, 6) +
                           fixed32_field(6, 0x101) + unknown_fields();
  const std::string status = bytes_field(2, "boom") + varint_field(3, 2) + unknown_fields();

  const std::string every_value_type =
      bytes_field(9, key_value("s", string_value("text"))) +
      bytes_field(9, key_value("b", bool_value(true))) +
      bytes_field(9, key_value("f", bool_value(false))) + bytes_field(9, key_value("neg", int_value(-42))) +
      bytes_field(9, key_value("min", int_value(std::numeric_limits<std::int64_t>::min()))) +
      bytes_field(9, key_value("d", double_value(-2.5))) +
      bytes_field(9, key_value("raw", bytes_value(std::string("\x00\xff\x10" "ab", 5)))) +
      bytes_field(9, key_value("arr", array_value({string_value("x"), int_value(1),
                                                   array_value({bool_value(false)}),
                                                   kvlist_value({key_value("in", double_value(0.5))})}))) +
      bytes_field(9, key_value("kv", kvlist_value({key_value("k1", string_value("v1")),
                                                   key_value("k2", array_value({int_value(7)}))}))) +
      bytes_field(9, key_value("empty", ""));

  const std::string root = bytes_field(1, kTraceId) + bytes_field(2, kRootSpanId) +
                           bytes_field(3, "vendor=1") + bytes_field(4, "") + bytes_field(5, "agent.run") +
                           varint_field(6, 2) + fixed64_field(7, start) + fixed64_field(8, end) +
                           every_value_type + varint_field(10, 1) +
                           bytes_field(11, event) + varint_field(12, 4) +
                           bytes_field(13, link) + varint_field(14, 8) +
                           bytes_field(15, status) + fixed32_field(16, 0x301) + unknown_fields();
  const std::string child = unknown_fields() + bytes_field(1, kTraceId) + bytes_field(2, kChildSpanId) +
                            bytes_field(4, kRootSpanId) + bytes_field(5, "llm.call") + fixed64_field(7, 1) +
                            fixed64_field(8, 2);

  const std::string scope_spans =
      bytes_field(1, scope) + bytes_field(2, root) + bytes_field(2, child) + bytes_field(3, "https://scope");
  const std::string resource_spans = bytes_field(1, resource) + bytes_field(2, scope_spans) +
                                     bytes_field(3, "https://resource") + unknown_fields();
  const std::string request = unknown_fields() + bytes_field(1, resource_spans) + unknown_fields();

  const json expected = json::parse(R"({
    "resourceSpans": [{
      "resource": {
        "attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}],
        "droppedAttributesCount": 3
      },
      "schemaUrl": "https://resource",
      "scopeSpans": [{
        "scope": {
          "name": "promptetheus",
          "version": "1.2.3",
          "attributes": [{"key": "scope.kind", "value": {"stringValue": "sdk"}}],
          "droppedAttributesCount": 1
        },
        "schemaUrl": "https://scope",
        "spans": [
          {
            "traceId": "0102030405060708090a0b0c0d0e0f10",
            "spanId": "a1b2c3d4e5f60700",
            "traceState": "vendor=1",
            "name": "agent.run",
            "kind": 2,
            "startTimeUnixNano": "9223372036854775809",
            "endTimeUnixNano": "9007199254740993",
            "attributes": [
              {"key": "s", "value": {"stringValue": "text"}},
              {"key": "b", "value": {"boolValue": true}},
              {"key": "f", "value": {"boolValue": false}},
              {"key": "neg", "value": {"intValue": "-42"}},
              {"key": "min", "value": {"intValue": "-9223372036854775808"}},
              {"key": "d", "value": {"doubleValue": -2.5}},
              {"key": "raw", "value": {"bytesValue": "AP8QYWI="}},
              {"key": "arr", "value": {"arrayValue": {"values": [
                {"stringValue": "x"},
                {"intValue": "1"},
                {"arrayValue": {"values": [{"boolValue": false}]}},
                {"kvlistValue": {"values": [{"key": "in", "value": {"doubleValue": 0.5}}]}}
              ]}}},
              {"key": "kv", "value": {"kvlistValue": {"values": [
                {"key": "k1", "value": {"stringValue": "v1"}},
                {"key": "k2", "value": {"arrayValue": {"values": [{"intValue": "7"}]}}}
              ]}}},
              {"key": "empty", "value": {}}
            ],
            "droppedAttributesCount": 1,
            "events": [{
              "timeUnixNano": "9223372036854775809",
              "name": "retry",
              "attributes": [{"key": "attempt", "value": {"intValue": "2"}}],
              "droppedAttributesCount": 5
            }],
            "droppedEventsCount": 4,
            "links": [{
              "traceId": "0102030405060708090a0b0c0d0e0f10",
              "spanId": "000000000000002a",
              "traceState": "k=v",
              "attributes": [{"key": "linked", "value": {"boolValue": true}}],
              "droppedAttributesCount": 6,
              "flags": 257
            }],
            "droppedLinksCount": 8,
            "status": {"message": "boom", "code": 2},
            "flags": 769
          },
          {
            "traceId": "0102030405060708090a0b0c0d0e0f10",
            "spanId": "000000000000002a",
            "parentSpanId": "a1b2c3d4e5f60700",
            "name": "llm.call",
            "startTimeUnixNano": "1",
            "endTimeUnixNano": "2"
          }
        ]
      }]
    }]
  })");

  const json decoded = decode_ok(request);
  CHECK(decoded == expected);
  // The empty parent of the root span is absent, not "".
  CHECK_FALSE(first_span(decoded).contains("parentSpanId"));
  CHECK_NOTHROW(decoded.dump());
}

TEST_CASE("an empty OTLP body is an empty request", "[otlp]") {
  const json decoded = decode_ok("");
  CHECK(decoded == json::object());
  CHECK_FALSE(decoded.contains("resourceSpans"));
  // Only unknown fields: still an empty request.
  CHECK(decode_ok(unknown_fields()) == json::object());
}

TEST_CASE("OTLP scalars are present exactly when they are on the wire", "[otlp]") {
  // A span with nothing but an empty name: the name key is there, nothing else is.
  json span = first_span(decode_ok(request_with_span(bytes_field(5, ""))));
  CHECK(span == json{{"name", ""}});
  // Ids of unexpected lengths are hex-encoded as given.
  span = first_span(decode_ok(request_with_span(bytes_field(1, "\x01") + bytes_field(2, ""))));
  CHECK(span == json{{"traceId", "01"}, {"spanId", ""}});
  // Negative enums keep their sign (sign-extended to ten bytes on the wire).
  span = first_span(decode_ok(request_with_span(varint_field(6, static_cast<std::uint64_t>(-1)))));
  CHECK(span == json{{"kind", -1}});
}

TEST_CASE("the last OTLP status and AnyValue member on the wire win", "[otlp]") {
  const std::string span = bytes_field(15, bytes_field(2, "first") + varint_field(3, 1)) +
                           bytes_field(15, varint_field(3, 2));
  const json decoded = decode_ok(request_with_span(span));
  CHECK(first_span(decoded).at("status") == json{{"code", 2}});

  CHECK(first_attribute_value(decode_ok(request_with_attribute(string_value("a") + int_value(5)))) ==
        json{{"intValue", "5"}});
  // The field OTLP reserves for profiles is skipped like any unknown field.
  CHECK(first_attribute_value(decode_ok(request_with_attribute(string_value("a") + varint_field(8, 3)))) ==
        json{{"stringValue", "a"}});
}

TEST_CASE("OTLP bytes values are standard padded base64", "[otlp]") {
  CHECK(first_attribute_value(decode_ok(request_with_attribute(bytes_value("")))) ==
        json{{"bytesValue", ""}});
  CHECK(first_attribute_value(decode_ok(request_with_attribute(bytes_value("f")))) ==
        json{{"bytesValue", "Zg=="}});
  CHECK(first_attribute_value(decode_ok(request_with_attribute(bytes_value("fo")))) ==
        json{{"bytesValue", "Zm8="}});
  CHECK(first_attribute_value(decode_ok(request_with_attribute(bytes_value("foo")))) ==
        json{{"bytesValue", "Zm9v"}});
  CHECK(first_attribute_value(decode_ok(request_with_attribute(bytes_value("\xfb\xff\xbf")))) ==
        json{{"bytesValue", "+/+/"}});
}

TEST_CASE("non-finite OTLP doubles use the JSON mapping's names", "[otlp]") {
  CHECK(first_attribute_value(decode_ok(request_with_attribute(
            double_value(std::numeric_limits<double>::infinity())))) == json{{"doubleValue", "Infinity"}});
  CHECK(first_attribute_value(decode_ok(request_with_attribute(
            double_value(-std::numeric_limits<double>::infinity())))) == json{{"doubleValue", "-Infinity"}});
  CHECK(first_attribute_value(decode_ok(request_with_attribute(
            double_value(std::numeric_limits<double>::quiet_NaN())))) == json{{"doubleValue", "NaN"}});
}

TEST_CASE("invalid UTF-8 in OTLP strings becomes U+FFFD", "[otlp]") {
  // A stray continuation byte, a truncated sequence at the end, an overlong form, a surrogate,
  // a lead byte that never starts UTF-8, and a valid emoji kept as is. Each byte that does not
  // start a valid sequence is one U+FFFD, as the JSON writer replaces them.
  const std::string text = std::string("a\x80") + "b\xc3" + "c\xc0\xaf" + "d\xed\xa0\x80" + "e\xff" +
                           "\xf0\x9f\x98\x80" + "\xe2\x82";
  const std::string replacement = "\xef\xbf\xbd";
  const std::string expected = "a" + replacement + "b" + replacement + "c" + replacement + replacement + "d" +
                               replacement + replacement + replacement + "e" + replacement +
                               "\xf0\x9f\x98\x80" + replacement + replacement;
  const json decoded = decode_ok(request_with_span(bytes_field(5, text) +
                                                   bytes_field(9, key_value(text, string_value(text)))));
  const json span = first_span(decoded);
  CHECK(span.at("name") == expected);
  CHECK(span.at("attributes").at(0).at("key") == expected);
  CHECK(span.at("attributes").at(0).at("value").at("stringValue") == expected);
  CHECK_NOTHROW(decoded.dump());
  // Valid multi-byte text is untouched.
  const std::string valid = "h\xc3\xa9llo \xe2\x82\xac \xf4\x8f\xbf\xbf";
  CHECK(first_span(decode_ok(request_with_span(bytes_field(5, valid)))).at("name") == valid);
}

TEST_CASE("OTLP AnyValue nesting is bounded at 64 levels", "[otlp]") {
  json value = first_attribute_value(decode_ok(request_with_attribute(nested_arrays(64))));
  for (int level = 0; level < 64; ++level) {
    REQUIRE(value.contains("arrayValue"));
    value = json(value.at("arrayValue").at("values").at(0));
  }
  CHECK(value == json{{"intValue", "1"}});

  CHECK(decode_error(request_with_attribute(nested_arrays(65))) == "nesting deeper than 64");

  // Kvlists count as levels too.
  std::string mixed = int_value(1);
  for (int level = 0; level < 65; ++level) {
    mixed = level % 2 == 0 ? kvlist_value({key_value("k", mixed)}) : array_value({mixed});
  }
  CHECK(decode_error(request_with_attribute(mixed)) == "nesting deeper than 64");

  // Far deeper input is refused at the bound without descending further.
  CHECK(decode_error(request_with_attribute(nested_arrays(5000))) == "nesting deeper than 64");
}

TEST_CASE("malformed OTLP wire data is an error and never a crash", "[otlp]") {
  SECTION("truncated varint") {
    CHECK(decode_error("\x0a") == "truncated varint");
    CHECK(decode_error("\x80") == "truncated varint");
    CHECK(decode_error(std::string("\x28\xff", 2)) == "truncated varint");
  }
  SECTION("length past the end") {
    CHECK(decode_error("\x0a\x05" "ab") == "truncated length-delimited field");
    // Inside a nested message the bound is that message's end, not the buffer's.
    const std::string span = bytes_field(5, "name");
    std::string lying = bytes_field(1, bytes_field(2, tag(2, 2) + varint(span.size() + 1) + span)) + "xx";
    CHECK(decode_error(lying) == "truncated length-delimited field");
    CHECK(decode_error(tag(1, 2) + varint(std::numeric_limits<std::uint64_t>::max())) ==
          "truncated length-delimited field");
  }
  SECTION("varints of ten bytes are the longest") {
    const std::string ten = std::string(9, '\xff') + "\x01";
    CHECK(decode_ok(tag(5, 0) + ten) == json::object());
    CHECK(decode_error(tag(5, 0) + std::string(10, '\x80') + "\x01") == "varint longer than 10 bytes");
    CHECK(decode_error(tag(5, 0) + std::string(9, '\xff') + "\x02") == "varint overflows 64 bits");
  }
  SECTION("truncated fixed fields") {
    CHECK(decode_error(tag(5, 1) + "1234567") == "truncated fixed64 field");
    CHECK(decode_error(tag(5, 5) + "123") == "truncated fixed32 field");
    CHECK(decode_error(request_with_span(tag(7, 1) + "1234")) == "truncated fixed64 field");
  }
  SECTION("group and undefined wire types") {
    CHECK(decode_error(tag(5, 3)).find("group") != std::string::npos);
    CHECK(decode_error(tag(5, 4)).find("group") != std::string::npos);
    CHECK(decode_error(tag(5, 6)) == "invalid wire type 6");
    CHECK(decode_error(tag(5, 7)) == "invalid wire type 7");
    CHECK(decode_error(request_with_attribute(tag(9, 3))).find("group") != std::string::npos);
  }
  SECTION("field number zero") {
    CHECK(decode_error(std::string(1, '\0')) == "invalid field number");
    CHECK(decode_error(std::string("\x02\x00", 2)) == "invalid field number");
  }
  SECTION("a known field with the wrong wire type") {
    CHECK(decode_error(varint_field(1, 1)) ==
          "ExportTraceServiceRequest field 1 has wire type 0, expected 2");
    CHECK(decode_error(request_with_span(varint_field(15, 1))) ==
          "Span field 15 has wire type 0, expected 2");
    CHECK(decode_error(request_with_span(varint_field(7, 1))) == "Span field 7 has wire type 0, expected 1");
    CHECK(decode_error(request_with_span(varint_field(16, 1))) ==
          "Span field 16 has wire type 0, expected 5");
    CHECK(decode_error(request_with_span(fixed32_field(6, 1))) == "Span field 6 has wire type 5, expected 0");
    CHECK(decode_error(request_with_attribute(fixed32_field(3, 1))) ==
          "AnyValue field 3 has wire type 5, expected 0");
    CHECK(decode_error(request_with_attribute(array_value({varint_field(1, 1)}))) ==
          "AnyValue field 1 has wire type 0, expected 2");
  }
  SECTION("every truncation of a valid request is handled") {
    const std::string attribute = key_value("k", array_value({double_value(1.5), int_value(-1)}));
    const std::string request =
        request_with_span(bytes_field(1, kTraceId) + bytes_field(2, kRootSpanId) + bytes_field(5, "n") +
                          fixed64_field(7, 1) + fixed32_field(16, 1) + bytes_field(9, attribute));
    decode_ok(request);
    for (std::size_t size = 0; size < request.size(); ++size) {
      std::string error;
      const auto decoded = decode_otlp_trace_request(std::string_view(request).substr(0, size), error);
      // A cut at a field boundary of the outermost message is a shorter valid request.
      if (decoded) {
        CHECK(error.empty());
        CHECK_NOTHROW(decoded->dump());
      } else {
        CHECK_FALSE(error.empty());
      }
    }
  }
}

TEST_CASE("OTLP export responses are encoded field by field", "[otlp]") {
  CHECK(encode_otlp_trace_response(0, "") == "");
  CHECK(encode_otlp_trace_response(2, "bad") == std::string("\x0a\x07\x08\x02\x12\x03" "bad"));
  CHECK(encode_otlp_trace_response(0, "x") == std::string("\x0a\x03\x12\x01" "x"));
  CHECK(encode_otlp_trace_response(300, "") == std::string("\x0a\x03\x08\xac\x02"));
  CHECK(encode_otlp_trace_response(-1, "") ==
        std::string("\x0a\x0b\x08") + std::string(9, '\xff') + std::string("\x01"));
}

TEST_CASE("google.rpc.Status is encoded field by field", "[otlp]") {
  CHECK(encode_rpc_status(3, "x") == std::string("\x08\x03\x12\x01" "x"));
  CHECK(encode_rpc_status(0, "") == "");
  CHECK(encode_rpc_status(0, "ok") == std::string("\x12\x02" "ok"));
  // Negative int32 values are sign-extended to ten bytes, as protobuf writes them.
  CHECK(encode_rpc_status(-1, "") == std::string("\x08") + std::string(9, '\xff') + std::string("\x01"));
  const std::string long_message(200, 'm');
  CHECK(encode_rpc_status(14, long_message) == std::string("\x08\x0e\x12\xc8\x01") + long_message);
}
