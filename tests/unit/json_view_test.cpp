// core/json_view reads a document as nlohmann::json reads it: the same documents are accepted,
// the same values come out (numbers' kinds, decoded strings, the last of repeated keys), and its
// canonical writer writes the same text as core/json_writer's for nlohmann's tree.
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/json_view.hpp"
#include "core/json_writer.hpp"

using promptetheus::detail::JsonView;
using nlohmann::json;
namespace d = promptetheus::detail;

namespace {

// The canonical text of `text` read both ways; "<rejected>" when the reader refuses it.
std::string through_view(const std::string& text) {
  JsonView view;
  if (!view.parse(text)) return "<rejected>";
  std::string out;
  d::write_json(out, view.root());
  return out;
}

std::string through_nlohmann(const std::string& text) {
  const json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return "<rejected>";
  return d::canonical_json(value);
}

json random_value(std::mt19937_64& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const int kind = depth > 4 ? pick(6) : pick(8);
  switch (kind) {
    case 0: return nullptr;
    case 1: return pick(2) == 0;
    case 2: return static_cast<std::int64_t>(rng()) >> pick(64);
    case 3: return static_cast<std::uint64_t>(rng()) >> pick(64);
    case 4: {
      const double values[] = {0.5, -0.0, 1e-7, 1e16, 123.456, -2.5e-300, 1.7976931348623157e308, 100.0};
      return values[pick(8)] * (pick(2) ? 1 : -3.25);
    }
    case 5: {
      const char* pieces[] = {"a", "\"", "\\", "/", "\n", "\t", "\x01", "\xc3\xa9", "\xf0\x9f\x98\x80", "span_", " ", "\xe2\x80\xa8"};
      std::string s;
      for (int i = pick(6); i > 0; --i) s += pieces[pick(12)];
      return s;
    }
    case 6: {
      json a = json::array();
      for (int i = pick(5); i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      const char* keys[] = {"b", "a", "\xc3\xa9", "A", "key\"q", "z", "", "payload"};
      for (int i = pick(5); i > 0; --i) o[keys[pick(8)]] = random_value(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST_CASE("json view: values read as nlohmann reads them") {
  JsonView view;
  REQUIRE(view.parse(R"( {"b": [1, -2, 18446744073709551615, 18446744073709551616, -0, 1.5e3, "x\u00e9\ud83d\ude00"],
                          "a": {"k": true, "k": false}, "n": null} )"));
  const JsonView::Ref root = view.root();
  CHECK(root.size() == 3);
  const auto items = root["b"].elements();
  REQUIRE(items.size() == 7);
  CHECK(items[0].kind() == JsonView::Kind::unsigned_integer);
  CHECK(items[0].unsigned_integer() == 1);
  CHECK(items[1].kind() == JsonView::Kind::integer);
  CHECK(items[1].integer() == -2);
  CHECK(items[2].unsigned_integer() == 18446744073709551615ull);
  CHECK(items[3].kind() == JsonView::Kind::floating);  // beyond 64 bits
  CHECK(items[4].kind() == JsonView::Kind::integer);
  CHECK(items[5].number() == 1500.0);
  CHECK(items[6].string() == "x\xc3\xa9\xf0\x9f\x98\x80");
  CHECK_FALSE(items[6].plain_string());
  CHECK(root["a"]["k"].is(JsonView::Kind::boolean));
  CHECK_FALSE(root["a"]["k"].boolean());  // the last of repeated keys
  CHECK(root["a"].sorted_members().size() == 1);
  CHECK(root["n"].is(JsonView::Kind::null));
  CHECK_FALSE(root["missing"]);
  CHECK_FALSE(root["b"]["not an object"]);
  CHECK(root["b"].text().substr(0, 3) == "[1,");
}

TEST_CASE("json view: the documents nlohmann refuses are refused") {
  for (const std::string& text : std::vector<std::string>{"", " ", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "tru", "nul", "\"\x01\"", "\"abc", "{} x", "[1 2]", "{\"a\" 1}", "\"\\x\"", "1e400", "[-1e400]",
        "\"\\u12\"", "{1:2}", "[", "]", "NaN"}) {
    INFO(text);
    CHECK(through_view(text) == "<rejected>");
    CHECK(through_nlohmann(text) == "<rejected>");
  }
  JsonView view;
  CHECK(view.parse(std::string(100, '[') + std::string(100, ']')));
  CHECK_FALSE(view.parse(std::string(600, '[') + std::string(600, ']')));  // deeper than the bound
  CHECK_FALSE(view.root());
}

TEST_CASE("json view: its canonical text is json_writer's for the same documents") {
  for (const std::string& text : std::vector<std::string>{R"({"z":1,"a":{"y":[1,2,{"c":null,"b":"\/"}],"x":-0}})", R"({"k":1,"k":2,"a":3,"k":4})",
        R"([1E2, 1e-7, 0.1, 100.0, 12345678901234567890123, -9223372036854775809, 1e-400, -2e-320])",
        "\"\\u0000\\u001f\\u007f\\u2028 \xc3\xa9\"", R"({"\u00e9":1,"e":2,"\ud83d\ude00":3,"\u007f":4})",
        std::string(140, '[') + std::string(140, ']')}) {
    INFO(text);
    CHECK(through_view(text) == through_nlohmann(text));
  }
  std::mt19937_64 rng(20261203);
  for (int i = 0; i < 3000; ++i) {
    const json value = random_value(rng, 0);
    // nlohmann's own forms: compact, indented, and ASCII-escaped.
    for (const std::string& text : {value.dump(), value.dump(2), value.dump(-1, ' ', true)}) {
      INFO(text);
      REQUIRE(through_view(text) == through_nlohmann(text));
    }
  }
}
