// The default redactor (contract §7.7): every public vector of policy.json as its own test, and
// the cases the vectors do not reach (Unicode digits and keys, invalid UTF-8, invalid patterns,
// deep values, threads).
#include <catch2/catch.hpp>

#include <pthread.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_writer.hpp"
#include "core/sha256.hpp"
#include "policy/redact.hpp"
#include "promptetheus/policy.hpp"

namespace {

using nlohmann::json;
using promptetheus::policy::redact;
using promptetheus::policy::RedactOptions;
using promptetheus::policy::redaction_failed_skeleton;

const std::string kPolicyFile = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/policy.json";

struct Vector {
  RedactOptions options;
  json input;
  json expected;
};

RedactOptions options_from(const json& o) {
  RedactOptions options;
  for (const auto& k : o.value("allow_keys", json::array())) options.allow_keys.push_back(k.get<std::string>());
  for (const auto& k : o.value("extra_sensitive_keys", json::array())) {
    options.extra_sensitive_keys.push_back(k.get<std::string>());
  }
  for (const auto& p : o.value("extra_patterns", json::array())) {
    options.extra_patterns.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
  }
  options.hash_values = o.value("hash_values", false);
  return options;
}

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> all = [] {
    std::vector<Vector> list;
    std::ifstream in(kPolicyFile);
    const auto doc = json::parse(in, nullptr, false);
    if (!doc.is_object() || !doc.contains("redaction")) return list;
    for (const auto& v : doc.at("redaction")) {
      list.push_back({options_from(v.at("options")), v.at("input"), v.at("expected")});
    }
    return list;
  }();
  return all;
}

void check_vector(std::size_t index) {
  const Vector& v = vectors().at(index);
  INFO("input: " << v.input.dump());
  const json got = redact(v.input, v.options);
  CHECK(got == v.expected);
  // The spool form too: what is written is byte-identical to the expected event's.
  CHECK(promptetheus::detail::canonical_json(got) == promptetheus::detail::canonical_json(v.expected));
}

class VectorInvoker : public Catch::ITestInvoker {
 public:
  explicit VectorInvoker(std::size_t index) : index_(index) {}
  void invoke() const override { check_vector(index_); }

 private:
  std::size_t index_;
};

// One registered test per vector, so that ctest lists and reports each vector on its own.
const bool registered = [] {
  static std::deque<std::string> names;  // Catch keeps references to the names
  for (std::size_t i = 0; i < vectors().size(); ++i) {
    names.push_back("policy redaction vector " + std::string(i < 10 ? "0" : "") + std::to_string(i));
    Catch::AutoReg(new VectorInvoker(i), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                   Catch::NameAndTags{Catch::StringRef(names.back()), "[policy][redact]"});
  }
  return true;
}();

json event_with(json payload) {
  return {{"type", "user_message"},
          {"session_id", "s"},
          {"seq", 1},
          {"timestamp", "2026-01-01T00:00:00Z"},
          {"idempotency_key", "s:n:1"},
          {"payload", std::move(payload)}};
}

std::string scrubbed(const std::string& text, const RedactOptions& options = {}) {
  const json out = redact(event_with({{"content", text}}), options);
  return out.at("payload").at("content").get<std::string>();
}

std::string hashed(const std::string& raw) { return "sha256:" + promptetheus::detail::sha256_hex(raw).substr(0, 12); }

}  // namespace

TEST_CASE("the public redaction vectors are present", "[policy][redact]") {
  REQUIRE(vectors().size() == 40);
}

TEST_CASE("redaction: the contract's observed example", "[policy][redact]") {
  CHECK(scrubbed("mail jo@example.com key sk-ABCDEFabcdef0123456789 card 4111 1111 1111 1111 ts 1700000000123 "
                 "AKIAIOSFODNN7EXAMPLE ghp_abcdefghijklmnopqrstuvwxyz Bearer abc.def eyJa.eyJb.sig") ==
        "mail [REDACTED] key [REDACTED] card [REDACTED]ts [REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED]");
  // Nested sensitive keys: the string is replaced; the count is kept (C++ decision, §7.7).
  const json out = redact(event_with({{"nested", {{"apiKey", "x"}, {"Token_count", 3}}}}));
  CHECK(out["payload"]["nested"] == json{{"apiKey", "[REDACTED]"}, {"Token_count", 3}});
}

TEST_CASE("redaction: digits and word boundaries are Unicode-aware, as in Python", "[policy][redact]") {
  // Arabic-Indic digits are digits: a card number.
  CHECK(scrubbed(u8"card \u0664\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 "
                 u8"\u0661\u0661\u0661\u0661 end") == "card [REDACTED]end");
  // Extended Arabic-Indic digits as a millisecond timestamp.
  CHECK(scrubbed(u8"id \u06f1\u06f7\u06f0\u06f0\u06f0\u06f0\u06f0\u06f0\u06f0\u06f0\u06f1\u06f2\u06f3") ==
        "id [REDACTED]");
  // A letter before the digits is a word character: no boundary, no match.
  const std::string glued = u8"x\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661";
  CHECK(scrubbed(glued) == glued);
  // \u00e9 is a word character too: no boundary between it and "sk-".
  const std::string accented = u8"\u00e9sk-ABCDEFabcdef0123456789";
  CHECK(scrubbed(accented) == accented);
  // Python's \s: U+001C is whitespace, U+180E is not.
  CHECK(scrubbed("Bearer\x1c" "abc") == "[REDACTED]");
  CHECK(scrubbed(u8"Bearer\u180eabc") == u8"Bearer\u180eabc");
  // Under (?i), Python's [A-Za-z] also matches the dotted and dotless i and the long s.
  CHECK(scrubbed(u8"bearer \u0131\u0130\u017f") == "[REDACTED]");
}

TEST_CASE("redaction: keys compare as Python's str.lower() does", "[policy][redact]") {
  // KELVIN SIGN lowercases to 'k': "TO\u212AEN" is a token key.
  json out = redact(event_with({{u8"TO\u212AEN", "x"}, {"TOKEN", "y"}, {"Note", "z"}}));
  CHECK(out["payload"][u8"TO\u212AEN"] == "[REDACTED]");
  CHECK(out["payload"]["TOKEN"] == "[REDACTED]");
  CHECK(out["payload"]["Note"] == "z");
  // Final sigma: "\u039f\u0394\u039f\u03a3" lowercases to "\u03bf\u03b4\u03bf\u03c2" alone and
  // to "...\u03c3a" before a letter.
  RedactOptions options;
  options.extra_sensitive_keys = {u8"\u039f\u0394\u039f\u03a3"};
  out = redact(event_with({{u8"\u03bf\u03b4\u03bf\u03c2", "x"},
                           {u8"\u039f\u0394\u039f\u03a3_A", "y"},
                           {u8"\u039f\u0394\u039f\u03a3A", "z"}}),
               options);
  CHECK(out["payload"][u8"\u03bf\u03b4\u03bf\u03c2"] == "[REDACTED]");
  CHECK(out["payload"][u8"\u039f\u0394\u039f\u03a3_A"] == "[REDACTED]");
  CHECK(out["payload"][u8"\u039f\u0394\u039f\u03a3A"] == "z");
  // Allow keys are lowercased too, and win over sensitivity.
  options = {};
  options.allow_keys = {"AUTHORIZATION"};
  out = redact(event_with({{"Authorization", "Bearer abc"}}), options);
  CHECK(out["payload"]["Authorization"] == "Bearer abc");
}

TEST_CASE("redaction: what a sensitive key's value becomes", "[policy][redact]") {
  const json payload = {{"password", json::array({1, "a", json{{"b", nullptr}}})},
                        {"token_count", 12},
                        {"api_key", nullptr},
                        {"secret", true},
                        {"client_secret", 2.5},
                        {"credentials", json::object({{"user", "u"}})}};
  json out = redact(event_with(payload));
  CHECK(out["payload"]["password"] == "[REDACTED]");
  CHECK(out["payload"]["token_count"] == 12);
  CHECK(out["payload"]["api_key"].is_null());
  CHECK(out["payload"]["secret"] == true);
  CHECK(out["payload"]["client_secret"] == 2.5);
  CHECK(out["payload"]["credentials"] == "[REDACTED]");
  // Hash mode: a string over itself, anything else over its Python repr.
  RedactOptions hash;
  hash.hash_values = true;
  out = redact(event_with({{"password", json::array({1, "a", json{{"b", nullptr}}, 1.0, true})},
                           {"private_key", "it's \"x\"\n\u00e9"},
                           {"credential", json{{"k", u8"\u2713\u0007"}}}}),
               hash);
  CHECK(out["payload"]["password"] == hashed("[1, 'a', {'b': None}, 1.0, True]"));
  CHECK(out["payload"]["private_key"] == hashed("it's \"x\"\n\u00e9"));
  CHECK(out["payload"]["credential"] == hashed(u8"{'k': '\u2713\\x07'}"));
  // Hash mode in strings: each match over its own text.
  CHECK(scrubbed("key sk-ABCDEFabcdef0123456789.", hash) == "key " + hashed("sk-ABCDEFabcdef0123456789") + ".");
}

TEST_CASE("redaction: protected and other top-level keys", "[policy][redact]") {
  json event = event_with({{"content", "jo@example.com"}});
  event["session_id"] = "sk-ABCDEFabcdef0123456789";
  event["span_id"] = "jo@example.com";
  event["metadata"] = {{"note", "AKIAIOSFODNN7EXAMPLE"}};
  event["secret_extra"] = {1, 2};
  const json out = redact(event);
  CHECK(out["session_id"] == "sk-ABCDEFabcdef0123456789");
  CHECK(out["type"] == "user_message");
  CHECK(out["seq"] == 1);
  CHECK(out["span_id"] == "[REDACTED]");
  CHECK(out["metadata"]["note"] == "[REDACTED]");
  CHECK(out["secret_extra"] == "[REDACTED]");
  CHECK(out["payload"]["content"] == "[REDACTED]");
}

TEST_CASE("redaction: extra patterns follow Python re", "[policy][redact]") {
  auto with = [](const char* regex) {
    RedactOptions options;
    options.extra_patterns = {{"extra", regex}};
    return options;
  };
  CHECK(scrubbed("TICKET-1234 TICKET-99", with(R"(\bTICKET-\d{4}\b)")) == "[REDACTED] TICKET-99");
  // \Z is the very end (PCRE2's \z); $ also matches before a final newline.
  CHECK(scrubbed("x\nx", with(R"(x\Z)")) == "x\n[REDACTED]");
  CHECK(scrubbed("x\nx\n", with(R"(x$)")) == "x\n[REDACTED]\n");
  // {,2} is {0,2}.
  CHECK(scrubbed("qqq! q!", with(R"(q{,2}!)")) == "q[REDACTED] [REDACTED]");
  // \s is Python's whitespace, also inside a class.
  CHECK(scrubbed("a\x1c" "b a\x1d" "b", with(R"(a\sb|a[\s]b)")) == "[REDACTED] [REDACTED]");
  // \uXXXX escapes.
  CHECK(scrubbed(u8"caf\u00e9", with(R"(\u00e9)")) == "caf[REDACTED]");
  // An empty match right after a non-empty one is replaced too (Python 3.7+).
  CHECK(scrubbed("bab", with("a*")) == "[REDACTED]b[REDACTED][REDACTED]b[REDACTED]");
  // Extras run after the built-in patterns, on their result.
  CHECK(scrubbed("jo@example.com", with(R"(REDACTED)")) == "[[REDACTED]]");
}

TEST_CASE("redaction: an invalid extra pattern gives the fail-closed skeleton", "[policy][redact]") {
  RedactOptions options;
  options.extra_patterns = {{"bad", "(unclosed"}};
  json event = event_with({{"content", "hello"}});
  event["metadata"] = {{"k", "v"}};
  event["span_id"] = "abc";
  event["parent_id"] = nullptr;
  const json out = redact(event, options);
  CHECK(out == json{{"type", "user_message"},
                    {"session_id", "s"},
                    {"seq", 1},
                    {"timestamp", "2026-01-01T00:00:00Z"},
                    {"idempotency_key", "s:n:1"},
                    {"span_id", "abc"},
                    {"parent_id", nullptr},
                    {"payload", {{"redaction_failed", true}}}});
  CHECK(out == redaction_failed_skeleton(event));
  std::string error;
  CHECK_FALSE(promptetheus::detail::try_redact(event, options, error));
  CHECK(error.find("bad") != std::string::npos);
  CHECK_FALSE(promptetheus::detail::redact_pattern_error("(unclosed").empty());
  CHECK(promptetheus::detail::redact_pattern_error(R"(\bx\d+)").empty());
  // The same options on the same thread fail again (the failure is cached with them), and other
  // options work.
  CHECK(redact(event, options) == out);
  CHECK(redact(event)["payload"]["content"] == "hello");
  // Not an object: nothing to keep but the failure mark.
  CHECK(redact(json::array({1, 2})) == json{{"payload", {{"redaction_failed", true}}}});
}

TEST_CASE("redaction: invalid UTF-8 is replaced, never a crash", "[policy][redact]") {
  json event = event_with({{"content", "\xff sk-ABCDEFabcdef0123456789 \xc3"},
                           {"bad\xfekey", "\xed\xa0\x80 jo@example.com"},
                           {"password", "\xc0\xaf"}});
  const json out = redact(event);
  CHECK(out["payload"]["content"] == u8"\ufffd [REDACTED] \ufffd");
  CHECK(out["payload"]["bad\xfekey"] == u8"\ufffd\ufffd\ufffd [REDACTED]");
  CHECK(out["payload"]["password"] == "[REDACTED]");
  // The canonical writer accepts the result (the key is written with U+FFFD).
  CHECK(promptetheus::detail::canonical_json(out).find("bad\\ufffdkey") != std::string::npos);
  RedactOptions hash;
  hash.hash_values = true;
  CHECK(redact(event, hash)["payload"]["password"] == hashed(u8"\ufffd\ufffd"));
}

namespace {

// Small enough that recursing once per level of a 10,000-level value would overflow it, large
// enough for the 128 levels the walk is bounded to. AddressSanitizer's redzones make every frame
// several times larger, so its builds get a larger stack (still far too small for 10,000 levels).
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kSmallStack = 4u << 20;
#else
constexpr std::size_t kSmallStack = 256u << 10;
#endif

/// Runs `fn` on a thread with a small stack (unbounded recursion on a deep value overflows it).
template <class Fn>
void on_small_stack(Fn fn) {
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, kSmallStack) == 0);
  pthread_t thread;
  auto body = [](void* arg) -> void* {
    (*static_cast<Fn*>(arg))();
    return nullptr;
  };
  // Checked after the join: Catch records assertions without locks, and the thread makes its own.
  const int created = pthread_create(&thread, &attr, body, &fn);
  if (created == 0) pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  REQUIRE(created == 0);
}

/// The depth of the first container chain of `value` (1 for an empty array).
int chain_depth(const json& value) {
  int depth = 0;
  const json* v = &value;
  while (v->is_array() || v->is_object()) {
    ++depth;
    if (v->empty()) break;
    v = v->is_array() ? &v->front() : &v->begin().value();
  }
  return depth;
}

}  // namespace

TEST_CASE("redaction: a 10 000-level value is cut at the writer's depth, without recursing",
          "[policy][redact]") {
  constexpr int kLevels = 10000;
  // Built by the parser, which does not recurse (nor does destroying it).
  const std::string deep = std::string(kLevels, '[') + "\"sk-ABCDEFabcdef0123456789\"" + std::string(kLevels, ']');
  std::string deep_object;
  for (int i = 0; i < kLevels; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(kLevels, '}');
  json event = event_with({{"content", "x"}});
  event["payload"]["deep"] = json::parse(deep);
  event["payload"]["password"] = json::parse(deep);
  event["metadata"] = json::parse(deep_object);
  event["note"] = json::parse(deep);
  event["timestamp"] = json::parse(deep);  // a protected key is copied, within the same bound

  on_small_stack([&] {
    RedactOptions options;
    options.allow_keys = {"note"};
    for (bool hash : {false, true}) {
      options.hash_values = hash;
      const json out = redact(event, options);
      // The event is level 1: payload.deep's containers are levels 3.., cut after level 128.
      CHECK(chain_depth(out["payload"]["deep"]) == promptetheus::detail::kMaxJsonDepth - 2);
      CHECK(chain_depth(out["metadata"]) == promptetheus::detail::kMaxJsonDepth - 1);
      CHECK(chain_depth(out["note"]) == promptetheus::detail::kMaxJsonDepth - 1);
      CHECK(chain_depth(out["timestamp"]) == promptetheus::detail::kMaxJsonDepth - 1);
      CHECK(out["payload"]["password"].is_string());
      CHECK(promptetheus::detail::canonical_json(out).find(promptetheus::detail::json_depth_marker()) !=
            std::string::npos);
      CHECK(out["payload"]["content"] == "x");
    }
    const json skeleton = redaction_failed_skeleton(event);
    CHECK(chain_depth(skeleton["timestamp"]) == promptetheus::detail::kMaxJsonDepth - 1);
  });
}

TEST_CASE("redaction: threads with different options redact concurrently", "[policy][redact]") {
  REQUIRE(vectors().size() == 40);
  std::vector<json> expected;
  for (const auto& v : vectors()) expected.push_back(v.expected);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &mismatches] {
      for (int round = 0; round < 20; ++round) {
        for (std::size_t i = static_cast<std::size_t>(t); i < vectors().size(); i += 2) {
          const Vector& v = vectors()[i];
          if (redact(v.input, v.options) != v.expected) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}
