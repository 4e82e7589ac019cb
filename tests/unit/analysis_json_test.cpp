// The spool line validator accepts exactly what Python's json.loads accepts.
#include <catch2/catch.hpp>

#include <string>

#include "analysis/json_view.hpp"
#include "analysis/session_store.hpp"

using namespace promptetheus::analysis;

TEST_CASE("JSON lines Python accepts are accepted", "[analysis][json]") {
  for (const char* ok : {"{}", "[]", "0", "-0", "1.5e-3", "1E+2", "\"\"", "null", "true", "NaN", "Infinity",
                         "-Infinity", " {\"a\" : [1 , 2 ] }\r\n", "\"\\ud800\"", "\"\\u00E9\\/\"",
                         u8"\"\u00e9\U0001F600\"", "{\"a\":1,\"a\":2}"}) {
    INFO(ok);
    CHECK(parse_json(ok).present());
  }
}

TEST_CASE("JSON lines Python rejects are rejected", "[analysis][json]") {
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "1e", "+1", "-", "nan", "-NaN",
                          "tru", "\"abc", "\"a\tb\"", "\"\\x\"", "\"\\u12\"", "{a:1}", "{\"a\" 1}", "[1 2]",
                          "{} {}", "\xef\xbb\xbf{}", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
                          "'single'", "\x0b{}"}) {
    INFO(bad);
    CHECK_FALSE(parse_json(bad).present());
  }
  // More than 4300 digits in an integer is a ValueError in Python; a float is fine.
  CHECK_FALSE(parse_json(std::string(4301, '1')).present());
  CHECK(parse_json(std::string(4300, '1')).present());
  CHECK(parse_json(std::string(5000, '1') + ".0").present());
  // Deep nesting is refused instead of exhausting the stack.
  CHECK_FALSE(parse_json(std::string(100000, '[') + std::string(100000, ']')).present());
  CHECK(parse_json(std::string(500, '[') + std::string(500, ']')).present());
}

TEST_CASE("object members: last repeat wins, escapes decode", "[analysis][json]") {
  const JsonView v = parse_json(R"({"type":"a","p\u0061yload":{"k":"x\"y"},"type":"b"})");
  REQUIRE(v.is_object());
  CHECK(v.get("type").as_string() == "b");
  CHECK(v.get("payload").get("k").as_string() == "x\"y");
  CHECK_FALSE(v.get("missing").present());
  CHECK_FALSE(parse_json("[1]").get("type").present());
  CHECK(parse_json(R"("\ud83d\ude00")").as_string() == u8"\U0001F600");
}

TEST_CASE("JSONL reading skips and counts blank and malformed lines", "[analysis][json]") {
  const Session s = parse_jsonl("{\"seq\":0,\"type\":\"a\"}\n\n   \n{\"seq\":1,\"ty\n[1]\n\"x\"\ngarbage\n{\"seq\":2}", "t");
  CHECK(s.events.size() == 4);
  CHECK(s.stats.lines == 8);
  CHECK(s.stats.blank == 2);
  CHECK(s.stats.malformed == 2);
  CHECK(s.events[0].type.as_string() == "a");
  CHECK_FALSE(s.events[1].is_object());
  CHECK(s.events[3].seq.raw() == "2");
}
