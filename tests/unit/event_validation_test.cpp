// Envelope validation (spec §1.3): every rule, its error kind, its exact message and the order in
// which the rules are checked.
#include <catch2/catch.hpp>

#include "core/event_validation.hpp"

using nlohmann::json;
using promptetheus::detail::kEventTypes;
using promptetheus::detail::python_str_repr;
using promptetheus::detail::validate_event;
using promptetheus::detail::ValidationErrorKind;

namespace {

json valid_event(const std::string& type = "browser_action") {
  return json{{"type", type},
              {"session_id", "01M7ZXHNVH2DNQWAR7C5Q4VEFW"},
              {"timestamp", "2026-11-21T20:42:43.441411Z"},
              {"seq", 3},
              {"idempotency_key", "01M7ZXHNVH2DNQWAR7C5Q4VEFW:667220d9:3"},
              {"payload", {{"action", "click"}, {"target", "#ok"}, {"url", nullptr}}}};
}

json valid_llm_call() {
  json e = valid_event("llm_call");
  e["payload"] = {{"model", "gpt-x"},         {"prompt_ref", "p"},  {"messages_ref", "m"},
                  {"input_tokens", 10},       {"output_tokens", 2}, {"latency_ms", 0}};
  return e;
}

struct Expected {
  ValidationErrorKind kind;
  std::string message;
};

void require_error(const json& event, const Expected& expected) {
  auto error = validate_event(event);
  INFO(event.dump());
  REQUIRE(error.has_value());
  CHECK(error->message == expected.message);
  CHECK(error->kind == expected.kind);
}

constexpr auto type_error = ValidationErrorKind::type_error;
constexpr auto value_error = ValidationErrorKind::value_error;

}  // namespace

TEST_CASE("validator: the 16 event types are listed in canonical order") {
  const std::vector<std::string> expected = {
      "user_message", "agent_message", "tool_call",    "tool_result", "retrieval", "browser_action",
      "dom_snapshot", "screenshot",    "replay_artifact", "goal_check", "state_change",
      "session_end",  "llm_call",      "score",        "error",       "metric"};
  REQUIRE(std::vector<std::string>(kEventTypes.begin(), kEventTypes.end()) == expected);
}

TEST_CASE("validator: a well-formed envelope of every type validates") {
  for (auto type : kEventTypes) {
    json e = type == "llm_call" ? valid_llm_call() : valid_event(std::string(type));
    INFO(type);
    CHECK_FALSE(validate_event(e).has_value());
  }
}

TEST_CASE("validator: optional fields and extra keys are accepted") {
  json e = valid_event();
  e["metadata"] = json::array({1, "anything"});
  e["span_id"] = "span_fa2bd21277924fbda754c754a502a2bd";
  e["parent_id"] = nullptr;
  e["_reject_reason"] = "schema_invalid";
  e["workspace_id"] = "ws_dev";
  CHECK_FALSE(validate_event(e).has_value());
  e["parent_id"] = "span_00000000000000000000000000000000";
  CHECK_FALSE(validate_event(e).has_value());
  e["timestamp"] = "not a date at all";  // the content of timestamp is never checked
  CHECK_FALSE(validate_event(e).has_value());
  e["seq"] = 0;
  CHECK_FALSE(validate_event(e).has_value());
  e["seq"] = std::uint64_t{18446744073709551615ULL};
  CHECK_FALSE(validate_event(e).has_value());
}

TEST_CASE("validator rule 1: not an object") {
  for (const json& v : {json(nullptr), json(1), json("event"), json::array(), json(true)}) {
    require_error(v, {type_error, "event must be a mapping"});
  }
}

TEST_CASE("validator rule 2: missing required fields are listed in envelope order") {
  const std::vector<std::string> fields = {"type", "seq", "session_id",
                                           "idempotency_key", "timestamp", "payload"};
  for (const auto& field : fields) {
    json e = valid_event();
    e.erase(field);
    require_error(e, {value_error, "event missing required envelope field(s): " + field});
  }
  json e = valid_event();
  e.erase("payload");
  e.erase("type");
  e.erase("seq");
  require_error(e, {value_error, "event missing required envelope field(s): type, seq, payload"});
  require_error(json::object(),
                {value_error,
                 "event missing required envelope field(s): type, session_id, timestamp, seq, "
                 "idempotency_key, payload"});
  // A field present with null is not missing: it fails its own type check instead.
  e = valid_event();
  e["type"] = nullptr;
  require_error(e, {type_error, "event.type must be a string"});
}

TEST_CASE("validator rule 3: type") {
  json e = valid_event();
  e["type"] = 123;
  require_error(e, {type_error, "event.type must be a string"});
  e["type"] = "not_real";
  require_error(e, {value_error, "unknown event type: 'not_real'"});
  e["type"] = "span_end";  // a state_change name, never an event type
  require_error(e, {value_error, "unknown event type: 'span_end'"});
  e["type"] = "it's";
  require_error(e, {value_error, "unknown event type: \"it's\""});
  e["type"] = "a\nb\\c\t\x01 \xc3\xa9";
  require_error(e, {value_error, "unknown event type: 'a\\nb\\\\c\\t\\x01 \xc3\xa9'"});
  e["type"] = "";
  require_error(e, {value_error, "unknown event type: ''"});
}

TEST_CASE("validator rule 4: session_id") {
  json e = valid_event();
  e["session_id"] = 7;
  require_error(e, {type_error, "event.session_id must be a string"});
  e["session_id"] = "";
  require_error(e, {value_error, "event.session_id must be nonempty"});
}

TEST_CASE("validator rule 5: timestamp") {
  json e = valid_event();
  e["timestamp"] = 1700000000;
  require_error(e, {type_error, "event.timestamp must be a string"});
  e["timestamp"] = nullptr;
  require_error(e, {type_error, "event.timestamp must be a string"});
}

TEST_CASE("validator rule 6: seq") {
  json e = valid_event();
  for (const json& bad : {json(1.5), json(true), json(false), json("not-an-int"), json(nullptr),
                          json::parse("1.0"), json::parse("1e2"), json::parse("-0.0")}) {
    e["seq"] = bad;
    require_error(e, {type_error, "event.seq must be an integer"});
  }
  e["seq"] = -1;
  require_error(e, {value_error, "event.seq must be >= 0"});
  e["seq"] = json::parse("-9223372036854775808");
  require_error(e, {value_error, "event.seq must be >= 0"});
}

TEST_CASE("validator rule 7: idempotency_key") {
  json e = valid_event();
  e["idempotency_key"] = json::array();
  require_error(e, {type_error, "event.idempotency_key must be a string"});
  e["idempotency_key"] = "";
  require_error(e, {value_error, "event.idempotency_key must be nonempty"});
}

TEST_CASE("validator rule 8: payload") {
  json e = valid_event();
  for (const json& bad : {json::array(), json("x"), json(nullptr), json(3)}) {
    e["payload"] = bad;
    require_error(e, {type_error, "event.payload must be a mapping"});
  }
}

TEST_CASE("validator rule 9: llm_call payload") {
  json e = valid_llm_call();
  e["payload"]["prompt"] = "raw";
  require_error(e, {value_error, "llm_call payload must use prompt_ref/messages_ref, not raw prompt"});
  e["payload"]["messages"] = json::array();
  require_error(e, {value_error,
                    "llm_call payload must use prompt_ref/messages_ref, not raw prompt, messages"});
  e["payload"].erase("prompt");
  require_error(e, {value_error,
                    "llm_call payload must use prompt_ref/messages_ref, not raw messages"});

  e = valid_llm_call();
  e["payload"] = json::object();
  require_error(e, {type_error, "llm_call.payload.model must be a string"});
  e["payload"]["model"] = 5;
  require_error(e, {type_error, "llm_call.payload.model must be a string"});
  e["payload"]["model"] = "";
  require_error(e, {value_error, "llm_call.payload.model must be nonempty"});

  for (const char* key : {"input_tokens", "output_tokens", "latency_ms"}) {
    for (const json& bad : {json(1.2), json(true), json("42"), json(nullptr)}) {
      e = valid_llm_call();
      e["payload"][key] = bad;
      require_error(e, {type_error, std::string("llm_call.payload.") + key + " must be an integer"});
    }
  }
  // The integer fields are checked in the order input_tokens, output_tokens, latency_ms.
  e = valid_llm_call();
  e["payload"]["latency_ms"] = "slow";
  e["payload"]["output_tokens"] = "many";
  require_error(e, {type_error, "llm_call.payload.output_tokens must be an integer"});

  for (const char* key : {"prompt_ref", "messages_ref"}) {
    for (const json& bad : {json(123), json::array(), json(nullptr)}) {
      e = valid_llm_call();
      e["payload"][key] = bad;
      require_error(e, {type_error, std::string("llm_call.payload.") + key + " must be a string"});
    }
  }
  // Negative token counts are integers, and nothing else about the payload is checked.
  e = valid_llm_call();
  e["payload"]["input_tokens"] = -5;
  e["payload"]["cost"] = "free";
  CHECK_FALSE(validate_event(e).has_value());

  // The same keys on another event type are not checked.
  e = valid_event("tool_call");
  e["payload"] = {{"prompt", "raw"}, {"model", 5}, {"input_tokens", "x"}};
  CHECK_FALSE(validate_event(e).has_value());
}

TEST_CASE("validator rule 10: span_id") {
  json e = valid_event();
  e["span_id"] = nullptr;
  require_error(e, {type_error, "event.span_id must be a string"});
  e["span_id"] = 1;
  require_error(e, {type_error, "event.span_id must be a string"});
  e["span_id"] = "";
  require_error(e, {value_error, "event.span_id must be nonempty"});
}

TEST_CASE("validator rule 11: parent_id") {
  json e = valid_event();
  for (const json& bad : {json(1), json(false), json::object(), json::array()}) {
    e["parent_id"] = bad;
    require_error(e, {type_error, "event.parent_id must be a string or None"});
  }
}

TEST_CASE("validator: rules run in the documented order") {
  // Each step breaks one more rule, later in the order; the earliest one must always win.
  json e = valid_llm_call();
  e["parent_id"] = 5;
  require_error(e, {type_error, "event.parent_id must be a string or None"});
  e["span_id"] = "";
  require_error(e, {value_error, "event.span_id must be nonempty"});
  e["payload"]["prompt"] = "raw";
  require_error(e, {value_error, "llm_call payload must use prompt_ref/messages_ref, not raw prompt"});
  e["payload"] = json::array();
  require_error(e, {type_error, "event.payload must be a mapping"});
  e["idempotency_key"] = "";
  require_error(e, {value_error, "event.idempotency_key must be nonempty"});
  e["seq"] = -1;
  require_error(e, {value_error, "event.seq must be >= 0"});
  e["seq"] = true;
  require_error(e, {type_error, "event.seq must be an integer"});
  e["timestamp"] = 0;
  require_error(e, {type_error, "event.timestamp must be a string"});
  e["session_id"] = "";
  require_error(e, {value_error, "event.session_id must be nonempty"});
  e["type"] = "nope";
  require_error(e, {value_error, "unknown event type: 'nope'"});
  e["type"] = 1;
  require_error(e, {type_error, "event.type must be a string"});
  e.erase("payload");
  require_error(e, {value_error, "event missing required envelope field(s): payload"});
}

TEST_CASE("python_str_repr follows Python's quoting and escaping") {
  CHECK(python_str_repr("abc") == "'abc'");
  CHECK(python_str_repr("") == "''");
  CHECK(python_str_repr("it's") == "\"it's\"");
  CHECK(python_str_repr("it's \"x\"") == "'it\\'s \"x\"'");
  CHECK(python_str_repr("say \"hi\"") == "'say \"hi\"'");
  CHECK(python_str_repr("\x7f\x1b") == "'\\x7f\\x1b'");
  CHECK(python_str_repr("\xc2\xa0") == "'\\xa0'");                    // NO-BREAK SPACE
  CHECK(python_str_repr("\xe2\x80\xa8") == "'\\u2028'");              // LINE SEPARATOR
  CHECK(python_str_repr("\xef\xbb\xbf") == "'\\ufeff'");              // BOM
  CHECK(python_str_repr("\xf3\xb0\x80\x80") == "'\\U000f0000'");      // private use plane 15
  CHECK(python_str_repr("\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80") ==  // é ✓ 😀 stay literal
        "'\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80'");
  CHECK(python_str_repr("\xff") == "'\\xff'");  // invalid UTF-8 byte
}
