// The spool line validator accepts exactly what Python's json.loads accepts.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "analysis/json_view.hpp"
#include "analysis/session_store.hpp"
#include "conformance/subprocess.hpp"

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

TEST_CASE("a large JSONL text, parsed in two halves, gives the events in file order and every line counted",
          "[analysis][json]") {
  // Past the size where the second half is parsed on another thread; blank and malformed lines
  // throughout, so that both halves count some, and a last line with no newline.
  std::string text;
  std::size_t expected_events = 0, blank = 0, malformed = 0, lines = 0;
  while (text.size() < (std::size_t{9} << 20)) {
    const std::size_t n = lines++;
    if (n % 97 == 0) {
      text += "   \n";
      ++blank;
    } else if (n % 89 == 0) {
      text += "{\"seq\":\n";
      ++malformed;
    } else {
      text += "{\"payload\":{\"pad\":\"" + std::string(200, 'x') + "\"},\"seq\":" + std::to_string(expected_events++) +
              ",\"type\":\"metric\"}\n";
    }
  }
  text += "{\"seq\":" + std::to_string(expected_events++) + "}";
  ++lines;
  const Session s = parse_jsonl(text, "big");
  CHECK(s.stats.lines == lines);
  CHECK(s.stats.blank == blank);
  CHECK(s.stats.malformed == malformed);
  REQUIRE(s.events.size() == expected_events);
  for (std::size_t i = 0; i < s.events.size(); ++i) {
    if (s.events[i].seq.raw() != std::to_string(i)) FAIL("event " << i << " has seq " << s.events[i].seq.raw());
  }

  // A text whose middle newline is its last byte: the second half is empty.
  const std::string one_line = "{\"seq\":0,\"pad\":\"" + std::string(std::size_t{5} << 20, 'y') + "\"}\n";
  const Session single = parse_jsonl(one_line, "one");
  CHECK(single.stats.lines == 1);
  CHECK(single.events.size() == 1);
}

TEST_CASE("streaming a file reads the same events as loading it", "[analysis][json]") {
  promptetheus::test::TempDir dir;
  const std::string path = dir.path() + "/s.jsonl";
  // A line longer than the 1 MiB read window, blank and torn lines, no final newline.
  std::string text = "{\"seq\":0,\"type\":\"a\"}\n\n{\"seq\":1,\"type\":\"big\",\"payload\":{\"content\":\"" +
                     std::string(3 << 20, 'x') + "\"}}\n{\"seq\":2,\"ty\n";
  for (int i = 3; i < 20000; ++i) text += "{\"seq\":" + std::to_string(i) + ",\"type\":\"t\"}\n";
  text += "{\"seq\":20000,\"type\":\"last\"}";
  std::ofstream(path, std::ios::binary) << text;

  const Session loaded = read_jsonl_file(path);
  std::vector<std::string> streamed_types;
  ReadStats stats;
  stream_jsonl_file(
      path, [](void* out, const Event& e) { static_cast<std::vector<std::string>*>(out)->push_back(e.type.as_string()); },
      &streamed_types, stats);
  REQUIRE(loaded.events.size() == 20000);
  REQUIRE(streamed_types.size() == loaded.events.size());
  for (std::size_t i = 0; i < streamed_types.size(); ++i) CHECK(streamed_types[i] == loaded.events[i].type.as_string());
  CHECK(streamed_types[1] == "big");
  CHECK(streamed_types.back() == "last");
  CHECK(stats.lines == loaded.stats.lines);
  CHECK(stats.blank == 1);
  CHECK(stats.malformed == 1);
  CHECK_FALSE(stats.unreadable);

  ReadStats missing;
  stream_jsonl_file(dir.path() + "/nope.jsonl", [](void*, const Event&) {}, nullptr, missing);
  CHECK(missing.unreadable);
}
