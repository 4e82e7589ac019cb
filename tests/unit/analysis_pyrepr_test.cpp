// Python repr/str/json.dumps formatting of JSON values (contract §7.9).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "analysis/json_view.hpp"
#include "analysis/pyrepr.hpp"

using namespace promptetheus::analysis;

namespace {
std::string repr_of(const std::string& json) {
  const JsonView v = parse_json(json);
  REQUIRE(v.present());
  return pyrepr(v);
}
std::string dump_of(const std::string& json) {
  const JsonView v = parse_json(json);
  REQUIRE(v.present());
  std::string out;
  append_json_dump(out, v);
  return out;
}
}  // namespace

TEST_CASE("float repr is Python's shortest round trip", "[analysis][pyrepr]") {
  CHECK(py_float_repr(1.0) == "1.0");
  CHECK(py_float_repr(-0.0) == "-0.0");
  CHECK(py_float_repr(0.1) == "0.1");
  CHECK(py_float_repr(412.5) == "412.5");
  CHECK(py_float_repr(1e20) == "1e+20");
  CHECK(py_float_repr(1e16) == "1e+16");
  CHECK(py_float_repr(1e15) == "1000000000000000.0");
  CHECK(py_float_repr(123456789012345678.0) == "1.2345678901234568e+17");
  CHECK(py_float_repr(1e-5) == "1e-05");
  CHECK(py_float_repr(0.0001) == "0.0001");
  CHECK(py_float_repr(1.5e-7) == "1.5e-07");
  CHECK(py_float_repr(5e-324) == "5e-324");
  CHECK(py_float_repr(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(py_float_repr(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(py_float_repr(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(py_float_repr(std::nan("")) == "nan");
}

TEST_CASE("repr of JSON values", "[analysis][pyrepr]") {
  CHECK(repr_of("null") == "None");
  CHECK(repr_of("true") == "True");
  CHECK(repr_of("false") == "False");
  CHECK(repr_of("4") == "4");
  CHECK(repr_of("-0") == "0");
  CHECK(repr_of("123456789012345678901234567890") == "123456789012345678901234567890");
  CHECK(repr_of("1E2") == "100.0");
  CHECK(repr_of("-0.0") == "-0.0");
  CHECK(repr_of("1e400") == "inf");
  CHECK(repr_of("NaN") == "nan");
  CHECK(repr_of("-Infinity") == "-inf");
  CHECK(repr_of(R"("it's \"quoted\"\nnewline \u00e9 \u2713 \u0007")") ==
        u8"'it\\'s \"quoted\"\\nnewline \u00e9 \u2713 \\x07'");
  CHECK(repr_of(R"("it's")") == "\"it's\"");
  CHECK(repr_of(R"("tab\there\r\\")") == "'tab\\there\\r\\\\'");
  CHECK(repr_of(R"("\u007f\u0085\u00a0\u200b\ud800\ud83d\ude00")") == u8"'\\x7f\\x85\\xa0\\u200b\\ud800\U0001F600'");
  CHECK(repr_of(R"([1, "two", 3.5, {"deep": null}])") == "[1, 'two', 3.5, {'deep': None}]");
  CHECK(repr_of(R"({"a": 1, "b": 2, "a": 3})") == "{'a': 3, 'b': 2}");
  CHECK(repr_of("[]") == "[]");
  CHECK(repr_of("{}") == "{}");
}

TEST_CASE("str and truthiness follow Python", "[analysis][pyrepr]") {
  CHECK(pystr(parse_json(R"("plain")")) == "plain");
  CHECK(pystr(parse_json("2.50")) == "2.5");
  CHECK(pystr(parse_json(R"({"k": "v"})")) == "{'k': 'v'}");
  for (const char* falsy : {"null", "false", "0", "-0", "0.0", "-0.0", "\"\"", "[]", "{}", "0e10"}) {
    INFO(falsy);
    CHECK_FALSE(py_truthy(parse_json(falsy)));
  }
  for (const char* truthy : {"true", "1", "-3", "0.5", "NaN", "\"0\"", "[0]", "{\"a\":null}", " \" \" "}) {
    INFO(truthy);
    CHECK(py_truthy(parse_json(truthy)));
  }
}

TEST_CASE("json.dumps(indent=2, ensure_ascii=True) output", "[analysis][pyrepr]") {
  CHECK(dump_of(R"({"x":[],"y":{},"z":[1,{"q":1e999}],"w":"\u007f\u00e9\ud83d\ude00"})") ==
        "{\n  \"x\": [],\n  \"y\": {},\n  \"z\": [\n    1,\n    {\n      \"q\": Infinity\n    }\n  ],\n"
        "  \"w\": \"\\u007f\\u00e9\\ud83d\\ude00\"\n}");
  CHECK(dump_of(R"({"n":NaN,"f":1.0,"i":-0,"b":[true,false,null],"s":"\b\f\n\r\t\"\\/"})") ==
        "{\n  \"n\": NaN,\n  \"f\": 1.0,\n  \"i\": 0,\n  \"b\": [\n    true,\n    false,\n    null\n  ],\n"
        "  \"s\": \"\\b\\f\\n\\r\\t\\\"\\\\/\"\n}");
}
