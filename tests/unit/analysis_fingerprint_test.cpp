// Fingerprint v1: the norm/kind and hash vectors of contract §7.1, plus Unicode cases whose
// expected values come from Python 3's `re` and str.lower() (the reference's semantics).
#include <catch2/catch.hpp>

#include "analysis/fingerprint.hpp"
#include "analysis/session_store.hpp"

using namespace promptetheus::analysis;

namespace {

Session session_of(const std::string& jsonl) { return parse_jsonl(jsonl, "test"); }

std::string event(const std::string& type, const std::string& payload, int seq = 0) {
  return R"({"payload":)" + payload + R"(,"seq":)" + std::to_string(seq) + R"(,"type":")" + type + "\"}\n";
}

}  // namespace

TEST_CASE("fingerprint norm and error_kind reproduce the contract vectors", "[analysis][fingerprint]") {
  struct Vector {
    const char* input;
    const char* kind;  // nullptr = null
    const char* norm;
  };
  const Vector vectors[] = {
      {"TimeoutError: timed out after 3133ms", "TimeoutError", "timeouterror: timed out after nms"},
      {"KeyError: 'user_id' at 0x7f3a2b1c in /srv/app/main.py line 42", "KeyError",
       "keyerror: str at nxaddr in path line n"},
      {"requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.x.com', port=443)", "ConnectionError",
       "requests.exceptions.connectionerror: httpsconnectionpool(host=str, port=n)"},
      {"Error: plain", nullptr, "error: plain"},
      {"  OSError:   deadbeefcafe  uuid 123e4567-e89b-12d3-a456-426614174000 ", "OSError",
       "oserror: hex uuid hex-enb-ndn-an-hex"},
      {u8"\u00DCn\u00EFc\u00F6d\u00E9 Fehler: Gr\u00F6\u00DFe \u0663\u0664 \u00FCberschritten", nullptr,
       u8"\u00FCn\u00EFc\u00F6d\u00E9 fehler: gr\u00F6\u00DFe n \u00FCberschritten"},
      {"he said \"hi\" and 'bye' at http://x.com/a/b?q=1", nullptr, "he said str and str at http:/path?q=n"},
  };
  for (const auto& v : vectors) {
    INFO(v.input);
    CHECK(fingerprint_norm(v.input) == v.norm);
    const auto kind = fingerprint_error_kind(v.input);
    if (v.kind) {
      REQUIRE(kind.has_value());
      CHECK(*kind == v.kind);
    } else {
      CHECK_FALSE(kind.has_value());
    }
  }
}

TEST_CASE("fingerprint norm follows Python's Unicode word, digit and space classes and lower()", "[analysis][fingerprint]") {
  const std::pair<const char*, const char*> vectors[] = {
      // U+0301 (a combining mark) is not \w in Python, so the path stops before it.
      {u8"/cafe\u0301/x.py failed", u8"path\u0301path failed"},
      // Final sigma.
      {u8"\u039F\u0394\u039F\u03A3 \u03A3\u03A6\u0391\u039B\u039C\u0391",
       u8"\u03BF\u03B4\u03BF\u03C2 \u03C3\u03C6\u03B1\u03BB\u03BC\u03B1"},
      // Full case mapping: U+0130 lowers to two code points; Arabic-Indic digit is \d.
      {u8"\u0130stanbul 12 \u0663", u8"i\u0307stanbul n n"},
      // U+2003 and U+001C are whitespace for Python.
      {u8"x\u2003\u2003y\u001Cz", u8"x y z"},
      // \b needs a non-word neighbour: é and _ are word characters.
      {u8"deadbeef\u00E9 deadbeef_ cafebabe1", u8"deadbeef\u00E9 deadbeef_ hex"},
      // Quotes do not pair across a newline.
      {"a'b\nc'd \"e\"", "a'b c'd str"},
      // Roman numeral twelve is \w (numeric) but not \d.
      {u8"\u216BError: roman", u8"\u217Berror: roman"},
      {u8"\u00DF\u2192\u1E9E \u01C5", u8"\u00DF\u2192\u00DF \u01C6"},
      // Mathematical digits outside the BMP are \d.
      {u8"\U0001D7D8\U0001D7D9 digits", "n digits"},
  };
  for (const auto& [input, expected] : vectors) {
    INFO(input);
    CHECK(fingerprint_norm(input) == expected);
  }
  CHECK(fingerprint_norm(std::string(250, 'x')) == std::string(200, 'x'));
  // Truncation counts code points, not bytes.
  std::string long_umlauts;
  for (int i = 0; i < 250; ++i) long_umlauts += u8"\u00E4";
  std::string expected_umlauts;
  for (int i = 0; i < 200; ++i) expected_umlauts += u8"\u00E4";
  CHECK(fingerprint_norm(long_umlauts) == expected_umlauts);
}

TEST_CASE("error_kind backtracks like Python's regex", "[analysis][fingerprint]") {
  CHECK(fingerprint_error_kind("Foo.BarError.baz: q").value_or("") == "BarError");
  CHECK(fingerprint_error_kind("MyException").value_or("") == "MyException");
  CHECK_FALSE(fingerprint_error_kind(u8"  \u3000ValueErrorX: no").has_value());
  CHECK(fingerprint_error_kind(u8"  \u3000ValueError: no").value_or("") == "ValueError");
  CHECK_FALSE(fingerprint_error_kind("").has_value());
  CHECK_FALSE(fingerprint_error_kind("9Error").has_value());
}

TEST_CASE("fingerprint hashes reproduce the contract vectors", "[analysis][fingerprint]") {
  struct Vector {
    std::string jsonl;
    const char* fingerprint;
    const char* label;
  };
  const Vector vectors[] = {
      {event("error", R"({"message":"TimeoutError: timed out after 3133ms"})"), "c6085b5a6599", "error TimeoutError"},
      {event("error", R"({"message":"ValueError: bad"})") + event("session_end", R"({"status":"failed"})", 1),
       "5a483aa0d019", "error ValueError (+1 more)"},
      {event("goal_check", R"({"passed":false})"), "3ef6eb4b8128", "goal mismatch: goal not met"},
      {event("goal_check", R"({"passed":false,"mismatches":["expected 5 got 7","Wrong 'day'"]})"), "b5554670acc2",
       "goal mismatch: expected n got n wrong str"},
      {event("tool_result", R"({"status":"failed"})"), "fa21be865519", "tool tool failed"},
      {event("tool_result", R"({"tool":"search","error":"503 upstream"})"), "cfbf63985073", "tool search failed"},
      {event("session_end", R"({"status":"completed","error":"boom at /srv/x.py"})"), "6512158fea02",
       "ended with error boom at path"},
      {event("error", R"({"message":"boom","error_type":"ValueError","handled":true})"), "03491c6366d6", "error boom"},
  };
  for (const auto& v : vectors) {
    INFO(v.jsonl);
    const Session s = session_of(v.jsonl);
    const Fingerprint fp = fingerprint_v1(s.events);
    CHECK(fp.is_failure);
    CHECK(fp.fingerprint == v.fingerprint);
    CHECK(fp.label == v.label);
  }
  const Fingerprint boom = fingerprint_v1(session_of(vectors[7].jsonl).events);
  CHECK(boom.signals == std::vector<std::string>{"error::boom"});
}

TEST_CASE("fingerprint of the failing Appendix A session", "[analysis][fingerprint]") {
  const std::string f =
      event("state_change", R"({"after":{"agent":"calendar-agent"},"before":null,"name":"session_started"})", 0) +
      event("tool_result", R"({"call_id":"call-1","error":"TimeoutError: upstream timed out after 3133ms","result":null})", 5) +
      event("agent_message", R"({"content":"Booked Wednesday 2pm"})", 9) +
      event("goal_check", R"({"mismatches":["selected Wednesday, not Tuesday"],"passed":false})", 10) +
      event("session_end", R"({"error":"RuntimeError: agent selected the wrong day","status":"failed"})", 11);
  const Fingerprint fp = fingerprint_v1(session_of(f).events);
  CHECK(fp.fingerprint == "8e6c921c356e");
  CHECK(fp.label == "tool tool failed (+3 more)");
  CHECK(fp.signals == std::vector<std::string>{
                          "end_error:runtimeerror: agent selected the wrong day",
                          "goal:selected wednesday, not tuesday", "status:failed",
                          "tool_error:tool:timeouterror: upstream timed out after nms"});
}

TEST_CASE("fingerprint ignores order, clean sessions and odd payloads", "[analysis][fingerprint]") {
  const std::string err = event("error", R"({"message":"TimeoutError: timed out after 3133ms"})");
  const std::string goal = event("goal_check", R"({"passed":false})");
  const std::string end = event("session_end", R"({"status":"failed"})");
  CHECK(fingerprint_v1(session_of(err + goal + end).events).fingerprint ==
        fingerprint_v1(session_of(goal + err + end).events).fingerprint);
  CHECK(fingerprint_v1(session_of(event("error", R"({"message":"TimeoutError: timed out after 9120ms"})")).events)
            .fingerprint == fingerprint_v1(session_of(err).events).fingerprint);

  const Fingerprint clean = fingerprint_v1(session_of(event("agent_message", R"({"content":"ok"})") +
                                                      event("goal_check", R"({"passed":true})") +
                                                      event("session_end", R"({"status":"completed"})"))
                                               .events);
  CHECK_FALSE(clean.is_failure);
  CHECK(clean.fingerprint.empty());
  CHECK(clean.label == "no failure detected");

  // Non-object events and payloads, non-string values: no throw, Python str() semantics.
  const Fingerprint odd = fingerprint_v1(session_of("[1,2]\n\"x\"\n" + event("error", "[1]") +
                                                    event("error", R"({"message":{"a":1.5}})") +
                                                    event("session_end", R"({"status":7})"))
                                             .events);
  CHECK(odd.is_failure);
  CHECK(odd.signals == std::vector<std::string>{"error::error", "error::{str: n.n}", "status:7"});
}
