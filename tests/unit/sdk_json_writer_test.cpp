// The canonical JSON writer (contract §1.8 JSON-spool): Python float repr, escapes, sorted keys,
// and the C++ decisions (NaN/Inf -> null, invalid UTF-8 -> U+FFFD).
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "core/json_writer.hpp"
#include "unit/sdk_test_support.hpp"

using nlohmann::json;
using promptetheus::detail::canonical_json;
using promptetheus::detail::write_json;
using promptetheus::detail::write_json_double;
using promptetheus::detail::write_json_string;

namespace {

std::string dbl(double v) {
  std::string out;
  write_json_double(out, v);
  return out;
}

std::string str(std::string_view s) {
  std::string out;
  write_json_string(out, s);
  return out;
}

std::string written(const json& value) {
  std::string out;
  write_json(out, value);
  return out;
}


std::string repeated(const std::string& s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}

bool ascii_only(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("floats are written as Python's repr writes them", "[sdk][json]") {
  CHECK(dbl(1e-07) == "1e-07");
  CHECK(dbl(1e16) == "1e+16");
  CHECK(dbl(100.0) == "100.0");
  CHECK(dbl(-0.0) == "-0.0");
  CHECK(dbl(0.0) == "0.0");
  CHECK(dbl(0.1) == "0.1");
  CHECK(dbl(1e22) == "1e+22");
  CHECK(dbl(5e-324) == "5e-324");
  CHECK(dbl(0.1 + 0.2) == "0.30000000000000004");
  CHECK(dbl(1.5) == "1.5");
  CHECK(dbl(-2.5) == "-2.5");
  CHECK(dbl(412.5) == "412.5");
  CHECK(dbl(1e15) == "1000000000000000.0");
  CHECK(dbl(9999999999999998.0) == "9999999999999998.0");
  CHECK(dbl(0.0001) == "0.0001");
  CHECK(dbl(0.00001) == "1e-05");
  CHECK(dbl(2.5e-05) == "2.5e-05");
  CHECK(dbl(-1.5e-10) == "-1.5e-10");
  CHECK(dbl(1e20) == "1e+20");
  CHECK(dbl(123456789012345678.0) == "1.2345678901234568e+17");
  CHECK(dbl(1.2345678901234567e17) == "1.2345678901234566e+17");
  CHECK(dbl(123456789.125) == "123456789.125");
  CHECK(dbl(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
  CHECK(dbl(std::numeric_limits<double>::min()) == "2.2250738585072014e-308");
}

TEST_CASE("NaN and infinities are written as null", "[sdk][json]") {
  CHECK(dbl(std::nan("")) == "null");
  CHECK(dbl(std::numeric_limits<double>::infinity()) == "null");
  CHECK(dbl(-std::numeric_limits<double>::infinity()) == "null");
  json v = {{"a", std::nan("")}, {"b", json::array({1.0, -std::numeric_limits<double>::infinity()})}};
  CHECK(canonical_json(v) == R"({"a":null,"b":[1.0,null]})");
}

TEST_CASE("strings use Python's escape set and ASCII-only unicode escapes", "[sdk][json]") {
  // The observed reference line of contract §1.8.
  CHECK(str("it's \"quoted\"\nnewline \xc3\xa9 \xe2\x9c\x93 \x07") ==
        R"("it's \"quoted\"\nnewline \u00e9 \u2713 \u0007")");
  CHECK(str("\\") == R"("\\")");
  CHECK(str("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(str(std::string("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(str("\x7f") == R"("\u007f")");
  CHECK(str("a/b") == R"("a/b")");
  CHECK(str("\xe2\x9c\x93") == R"("\u2713")");
  CHECK(str("\xef\xbf\xbf") == R"("\uffff")");
  CHECK(str("") == R"("")");
}

TEST_CASE("code points above U+FFFF are written as UTF-16 surrogate pairs", "[sdk][json]") {
  CHECK(str("\xf0\x9f\x98\x80") == R"("\ud83d\ude00")");      // U+1F600
  CHECK(str("\xf0\x90\x80\x80") == R"("\ud800\udc00")");      // U+10000
  CHECK(str("\xf4\x8f\xbf\xbf") == R"("\udbff\udfff")");      // U+10FFFF
  // The conformance sample: "Grüße — façade 😀".
  CHECK(str("Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 fa\xc3\xa7" "ade \xf0\x9f\x98\x80") ==
        R"("Gr\u00fc\u00dfe \u2014 fa\u00e7ade \ud83d\ude00")");
}

TEST_CASE("invalid UTF-8 is replaced by U+FFFD, never thrown on", "[sdk][json]") {
  CHECK(str("\xff") == R"("\ufffd")");
  CHECK(str("a\xc3") == R"("a\ufffd")");                 // truncated 2-byte sequence
  CHECK(str("\x80x") == R"("\ufffdx")");                 // lone continuation byte
  CHECK(str("\xed\xa0\x80").find("\\ud800") == std::string::npos);  // an encoded surrogate is invalid
  CHECK(str("\xc0\xaf").find("\\u002f") == std::string::npos);      // overlong '/' is invalid
  CHECK(str("\xf5\x80\x80\x80").find("\\ufffd") != std::string::npos);  // above U+10FFFF
  for (const char* bad : {"\xed\xa0\x80", "\xc0\xaf", "\xf5\x80\x80\x80", "ok\xe2\x9c", "\xfe\xff"}) {
    std::string out = str(bad);
    CHECK(ascii_only(out));
    CHECK(out.find("\\ufffd") != std::string::npos);
    CHECK_NOTHROW(json::parse(out));
  }
  // A valid sequence right after an invalid byte is still decoded.
  CHECK(str("\xff\xc3\xa9") == R"("\ufffd\u00e9")");
}

TEST_CASE("objects are written compact with keys sorted by code point at every level", "[sdk][json]") {
  json v = json::parse(R"({"b":1,"a":{"z":[3,{"y":null,"x":true}],"m":"s"},"B":false,"_":-5,"\u00e9":[]})");
  CHECK(canonical_json(v) == R"({"B":false,"_":-5,"a":{"m":"s","z":[3,{"x":true,"y":null}]},"b":1,"\u00e9":[]})");
  CHECK(canonical_json(json::object()) == "{}");
  CHECK(canonical_json(json::array()) == "[]");
  CHECK(canonical_json(json(nullptr)) == "null");
}

TEST_CASE("integers keep their full range", "[sdk][json]") {
  CHECK(canonical_json(json(std::numeric_limits<std::int64_t>::min())) == "-9223372036854775808");
  CHECK(canonical_json(json(std::numeric_limits<std::uint64_t>::max())) == "18446744073709551615");
  CHECK(canonical_json(json(0)) == "0");
  CHECK(canonical_json(json::parse("[1,1.0,-0.0,1e2]")) == "[1,1.0,-0.0,100.0]");
}

TEST_CASE("containers nested up to the depth limit are written whole, deeper ones as a marker", "[sdk][json]") {
  const int limit = promptetheus::detail::kMaxJsonDepth;
  CHECK(limit == 128);
  CHECK(promptetheus::detail::json_depth_marker() == "[truncated: nested deeper than 128 levels]");
  const std::string marker = str(promptetheus::detail::json_depth_marker());
  CHECK(written(sdk_test::nested_json(limit, false)) == repeated("[", limit) + repeated("]", limit));
  CHECK(written(sdk_test::nested_json(limit + 1, false)) == repeated("[", limit) + marker + repeated("]", limit));
  CHECK(written(sdk_test::nested_json(limit, true)) == repeated("{\"k\":", limit - 1) + "{}" + repeated("}", limit - 1));
  CHECK(written(sdk_test::nested_json(limit + 1, true)) == repeated("{\"k\":", limit) + marker + repeated("}", limit));
  // Only containers count: a scalar inside the deepest container is kept, and the siblings of a
  // truncated container are written.
  json deepest = sdk_test::nested_json(limit, false);
  json* innermost = &deepest;
  while (!innermost->empty()) innermost = &innermost->back();
  innermost->push_back(1);
  CHECK(written(deepest) == repeated("[", limit) + "1" + repeated("]", limit));
  json siblings = json::object();
  siblings["a"] = sdk_test::nested_json(limit, false);
  siblings["b"] = 2;
  CHECK(written(siblings) == "{\"a\":" + repeated("[", limit - 1) + marker + repeated("]", limit - 1) + ",\"b\":2}");
  // Far deeper than any stack allows recursing into: still one short line.
  CHECK(written(sdk_test::nested_json(100000, false)) == repeated("[", limit) + marker + repeated("]", limit));
  CHECK(written(sdk_test::nested_json(100000, true)) == repeated("{\"k\":", limit) + marker + repeated("}", limit));
}
