// Sampling and cost policy (contract §7.5, §7.6, §7.8): every vector of the reference's
// conformance/public/policy.json, each as its own section, plus the edge cases around them.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/sha256.hpp"
#include "promptetheus/policy.hpp"

using nlohmann::json;
namespace policy = promptetheus::policy;

namespace {

const json& vectors() {
  static const json data = [] {
    std::ifstream in(std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/policy.json");
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
  }();
  return data;
}

const json& vectors_of(const char* kind) {
  const json& all = vectors();
  REQUIRE(all.contains(kind));
  REQUIRE(all[kind].is_array());
  REQUIRE(!all[kind].empty());
  return all[kind];
}

std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

/// The same double, bit for bit (what "exact" means for the reference's floats).
bool same_double(double a, double b) { return bits(a) == bits(b); }

std::string hex_bits(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g (0x%016llx)", d, static_cast<unsigned long long>(bits(d)));
  return buf;
}

policy::TailPolicy tail_policy_of(const json& fields) {
  policy::TailPolicy p;
  if (fields.contains("retry_loop_threshold")) p.retry_loop_threshold = fields["retry_loop_threshold"].get<int>();
  if (fields.contains("span_latency_ms_threshold")) {
    p.span_latency_ms_threshold = fields["span_latency_ms_threshold"].get<double>();
  }
  if (fields.contains("session_latency_ms_threshold")) {
    p.session_latency_ms_threshold = fields["session_latency_ms_threshold"].get<double>();
  }
  if (fields.contains("boring_success_keep_rate") && !fields["boring_success_keep_rate"].is_null()) {
    p.boring_success_keep_rate = fields["boring_success_keep_rate"].get<double>();
  }
  if (fields.contains("emit_skeleton_on_drop")) p.emit_skeleton_on_drop = fields["emit_skeleton_on_drop"].get<bool>();
  return p;
}

std::vector<json> events_of(const json& array) { return std::vector<json>(array.begin(), array.end()); }

policy::TailDecision decide(std::vector<json> events, double head = 1.0, policy::TailPolicy p = {},
                            const char* session_id = "sess_edge") {
  return policy::decide_tail(events, session_id, head, p);
}

std::string reason_of(std::vector<json> events, policy::TailPolicy p = {}) {
  return decide(std::move(events), 1.0, p).reason;
}

json span_end(const json& duration, const char* name = "s") {
  return {{"type", "state_change"},
          {"payload", {{"name", "span_end"}, {"span_name", name}, {"duration_ms", duration}}}};
}

json tool_call(const char* name, const json& arguments) {
  return {{"type", "tool_call"}, {"payload", {{"tool_name", name}, {"arguments", arguments}}}};
}

json llm_call(const json& model, const json& in, const json& out) {
  return {{"type", "llm_call"}, {"payload", {{"model", model}, {"input_tokens", in}, {"output_tokens", out}}}};
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// ---- The reference's vectors -------------------------------------------------------------------

TEST_CASE("policy vectors: hash_fraction, bit for bit", "[policy][vectors]") {
  const json& all = vectors_of("hash_fraction");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const json& v = all[i];
    DYNAMIC_SECTION("hash_fraction[" << i << "] key=" << v["key"].dump()) {
      const double got = policy::hash_fraction(v["key"].get<std::string>());
      const double expected = v["expected"].get<double>();
      INFO("got " << hex_bits(got) << ", expected " << hex_bits(expected));
      CHECK(same_double(got, expected));
    }
  }
}

TEST_CASE("policy vectors: head sampling", "[policy][vectors]") {
  const json& all = vectors_of("head_sampling");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const json& v = all[i];
    DYNAMIC_SECTION("head_sampling[" << i << "] session_id=" << v["session_id"].dump()
                                     << " rate=" << v["rate"].dump()) {
      CHECK(policy::head_sampled(v["session_id"].get<std::string>(), v["rate"].get<double>()) ==
            v["expected_record"].get<bool>());
    }
  }
}

TEST_CASE("policy vectors: per-type sampling", "[policy][vectors]") {
  const json& all = vectors_of("type_sampling");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const json& v = all[i];
    DYNAMIC_SECTION("type_sampling[" << i << "] type=" << v["type"].dump() << " key=" << v["idempotency_key"].dump()
                                     << " rates=" << v["rates"].dump()) {
      const auto rates = v["rates"].get<std::map<std::string, double>>();
      CHECK(policy::type_sampled(v["type"].get<std::string>(), v["idempotency_key"].get<std::string>(), rates) ==
            v["expected_keep"].get<bool>());
    }
  }
}

TEST_CASE("policy vectors: tail sampling", "[policy][vectors]") {
  const json& all = vectors_of("tail_sampling");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const json& v = all[i];
    DYNAMIC_SECTION("tail_sampling[" << i << "] session_id=" << v["session_id"].dump() << " head="
                                     << v["head_sample_rate"].dump() << " policy=" << v["policy"].dump()
                                     << " events=" << v["events"].dump()) {
      const policy::TailDecision got =
          policy::decide_tail(events_of(v["events"]), v["session_id"].get<std::string>(),
                              v["head_sample_rate"].get<double>(), tail_policy_of(v["policy"]));
      const json& expected = v["expected"];
      CHECK(got.reason == expected["reason"].get<std::string>());
      CHECK(got.keep == expected["keep"].get<bool>());
      CHECK(got.interesting == expected["interesting"].get<bool>());
    }
  }
}

TEST_CASE("policy vectors: cost", "[policy][vectors]") {
  const json& all = vectors_of("cost");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const json& v = all[i];
    const std::string fn = v["fn"].get<std::string>();
    DYNAMIC_SECTION("cost[" << i << "] " << v.dump()) {
      if (fn == "estimate_cost") {
        const double got = policy::estimate_cost(v["model"].get<std::string>(), v["input_tokens"], v["output_tokens"]);
        const double expected = v["expected"].get<double>();
        INFO("got " << hex_bits(got) << ", expected " << hex_bits(expected));
        CHECK(same_double(got, expected));
      } else if (fn == "resolve_price") {
        const auto got = policy::resolve_price(v["model"].get<std::string>());
        if (v["expected"].is_null()) {
          CHECK_FALSE(got.has_value());
        } else {
          REQUIRE(got.has_value());
          CHECK(same_double(got->input_per_1k, v["expected"]["input_per_1k"].get<double>()));
          CHECK(same_double(got->output_per_1k, v["expected"]["output_per_1k"].get<double>()));
        }
      } else if (fn == "estimate_tokens") {
        CHECK(policy::estimate_tokens(v["text"].get<std::string>()) == v["expected"].get<std::int64_t>());
      } else if (fn == "format_cost") {
        CHECK(policy::format_cost(events_of(v["events"])) == v["expected"].get<std::string>());
      } else {
        FAIL("a cost vector with an unknown fn: " << fn);
      }
    }
  }
}

// ---- Hash fraction and head / per-type sampling -----------------------------------------------

TEST_CASE("hash_fraction uses the first 8 bytes of SHA-256 (contract §7.6 vectors)", "[policy][sampling]") {
  CHECK(promptetheus::detail::sha256_hex("sess_abc").substr(0, 16) == "57c4db2f383cac90");
  CHECK(promptetheus::detail::sha256_hex("sess_xyz").substr(0, 16) == "1e2e235bdeb43605");
  CHECK(same_double(policy::hash_fraction("sess_abc"), 0.3428475370676433));
  CHECK(same_double(policy::hash_fraction("sess_xyz"), 0.11789151184957877));
  CHECK(same_double(policy::hash_fraction("s:nonce:7"), 0.38888518596577176));
  // Bytes, not characters: a key with an embedded NUL hashes all of it.
  CHECK_FALSE(same_double(policy::hash_fraction(std::string_view("a\0b", 3)), policy::hash_fraction("a")));
}

TEST_CASE("head sampling at the edges of the rate", "[policy][sampling]") {
  for (const char* id : {"sess_abc", "sess_xyz", ""}) {
    CAPTURE(id);
    CHECK(policy::head_sampled(id, 1.0));
    CHECK(policy::head_sampled(id, 5.0));
    CHECK(policy::head_sampled(id, kInf));
    CHECK_FALSE(policy::head_sampled(id, 0.0));
    CHECK_FALSE(policy::head_sampled(id, -0.0));
    CHECK_FALSE(policy::head_sampled(id, -1.0));
    CHECK_FALSE(policy::head_sampled(id, -kInf));
    CHECK_FALSE(policy::head_sampled(id, kNaN));
  }
  // Strictly below: sess_abc's fraction itself is not below itself.
  const double f = policy::hash_fraction("sess_abc");
  CHECK_FALSE(policy::head_sampled("sess_abc", f));
  CHECK(policy::head_sampled("sess_abc", std::nextafter(f, 1.0)));
}

TEST_CASE("per-type sampling keeps lifecycle and failure types and unlisted types, and decides by key",
          "[policy][sampling]") {
  const std::map<std::string, double> zero = {{"session_end", 0.0}, {"error", 0.0},       {"goal_check", 0.0},
                                              {"state_change", 0.0}, {"dom_snapshot", 0.0}, {"metric", kNaN},
                                              {"user_message", 1.0}, {"agent_message", 0.5}};
  for (const char* always : {"session_end", "error", "goal_check", "state_change"}) {
    CAPTURE(always);
    CHECK(policy::type_sampled(always, "k", zero));
  }
  CHECK_FALSE(policy::type_sampled("dom_snapshot", "k", zero));
  CHECK_FALSE(policy::type_sampled("metric", "k", zero));  // NaN: dropped, as the reference's comparisons give
  CHECK(policy::type_sampled("user_message", "k", zero));
  CHECK(policy::type_sampled("llm_call", "k", zero));    // not listed
  CHECK(policy::type_sampled("llm_call", "k", {}));
  // 0.5: exactly the hash fraction of the idempotency key decides.
  int kept = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string key = "sess:nonce:" + std::to_string(i);
    const bool keep = policy::type_sampled("agent_message", key, zero);
    CHECK(keep == (policy::hash_fraction(key) < 0.5));
    kept += keep ? 1 : 0;
  }
  CHECK(kept > 0);
  CHECK(kept < 50);
}

// ---- Tail sampling ----------------------------------------------------------------------------

TEST_CASE("tail sampling skips malformed events and never throws", "[policy][sampling]") {
  const std::vector<json> malformed = {
      json(nullptr), json(3), json("error"), json::array({"error"}), json::object(),
      json{{"type", nullptr}}, json{{"type", 7}, {"payload", {{"passed", false}}}},
      json{{"type", "goal_check"}, {"payload", "passed"}},
      json{{"type", "goal_check"}, {"payload", {{"passed", 0}}}},         // only false fails
      json{{"type", "goal_check"}, {"payload", {{"passed", nullptr}}}},
      json{{"type", "session_end"}, {"payload", {{"status", nullptr}, {"error", ""}}}},
      json{{"type", "session_end"}, {"payload", {{"status", "completed"}, {"error", 0}}}},
      json{{"type", "session_end"}, {"payload", {{"status", "completed"}, {"error", json::array()}}}},
      span_end("nan"), span_end(true), span_end(nullptr), span_end(json::object()),
      json{{"type", "span_end"}, {"payload", {{"duration_ms", "99999"}}}},
      json{{"type", "tool_call"}, {"payload", {{"tool_name", ""}, {"arguments", 1}}}},
      json{{"type", "tool_call"}, {"payload", {{"name", 0}, {"arguments", 1}}}},
      json{{"type", "tool_call"}, {"payload", nullptr}},
  };
  const auto d = decide(malformed);
  CHECK_FALSE(d.interesting);
  CHECK(d.keep);
  CHECK(d.reason == "boring success (kept)");
}

TEST_CASE("tail sampling: the failure signals, first one wins", "[policy][sampling]") {
  CHECK(reason_of({{{"type", "session_end"}, {"payload", {{"status", "Completed"}}}}}) == "session ended with failure");
  CHECK(reason_of({{{"type", "session_end"}, {"payload", {{"status", 0}}}}}) == "session ended with failure");
  CHECK(reason_of({{{"type", "session_end"}, {"payload", {{"error", kNaN}}}}}) == "session ended with failure");
  CHECK(reason_of({{{"type", "session_end"}, {"payload", {{"error", {{"m", 1}}}}}}}) == "session ended with failure");
  CHECK(reason_of({{{"type", "goal_check"}, {"payload", {{"passed", false}}}}, {{"type", "error"}}}) ==
        "failed goal_check");
  // A failure beats a retry loop seen before it.
  const json t = tool_call("search", {{"q", "a"}});
  CHECK(reason_of({t, t, t, {{"type", "error"}}}) == "error event");
}

TEST_CASE("tail sampling: retry loops", "[policy][sampling]") {
  const json a = tool_call("search", {{"q", "a"}, {"n", 1}});
  const json a_reordered = tool_call("search", {{"n", 1}, {"q", "a"}});
  const json b = tool_call("fetch", {{"q", "a"}});
  // Keys are sorted: the same arguments in another order are the same call.
  CHECK(reason_of({a, a_reordered, a}) == "retry loop on search (x3)");
  // 1 and 1.0 are different arguments, as json.dumps writes them.
  CHECK(reason_of({tool_call("f", 1), tool_call("f", 1.0), tool_call("f", 1)}) == "boring success (kept)");
  // A tie goes to the signature seen first.
  CHECK(reason_of({b, a, a, b, b, a}) == "retry loop on fetch (x3)");
  CHECK(reason_of({a, b, b, a, a, b}) == "retry loop on search (x3)");
  // `tool` before `name` before `tool_name`; `args` when `arguments` is missing or null.
  const json by_tool = {{"type", "tool_call"}, {"payload", {{"tool", "t"}, {"name", "n"}, {"args", {1}}}}};
  const json by_args = {{"type", "tool_call"}, {"payload", {{"tool", "t"}, {"arguments", nullptr}, {"args", {1}}}}};
  CHECK(reason_of({by_tool, by_args, by_tool}) == "retry loop on t (x3)");
  // The reason names what precedes the first "::" of the signature, as the reference splits it.
  CHECK(reason_of({tool_call("ns::op", 1), tool_call("ns::op", 1), tool_call("ns::op", 1)}) == "retry loop on ns (x3)");
  // A non-string name is written as Python's str() writes it.
  const json numeric = {{"type", "tool_call"}, {"payload", {{"name", 2.5}}}};
  CHECK(reason_of({numeric, numeric, numeric}) == "retry loop on 2.5 (x3)");
  // Threshold from the policy; zero or below: any tool call is a loop.
  policy::TailPolicy two;
  two.retry_loop_threshold = 2;
  CHECK(reason_of({a, b, a}, two) == "retry loop on search (x2)");
  policy::TailPolicy zero;
  zero.retry_loop_threshold = 0;
  CHECK(reason_of({b}, zero) == "retry loop on fetch (x1)");
  CHECK(reason_of({}, zero) == "boring success (kept)");
}

TEST_CASE("tail sampling: slow spans and slow sessions, with Python's comparisons and int()", "[policy][sampling]") {
  // Above, not at, the threshold; the slowest wins; its name falls back to name, then "span".
  CHECK(reason_of({span_end(30000)}) == "boring success (kept)");
  CHECK(reason_of({span_end(30000.5, "x")}) == "slow span x (30000ms)");
  CHECK(reason_of({span_end(31000, "a"), span_end(45000.9, "b"), span_end(45000.9, "c")}) == "slow span b (45000ms)");
  CHECK(reason_of({{{"type", "span_end"}, {"payload", {{"duration_ms", 40000}}}}}) == "slow span span (40000ms)");
  CHECK(reason_of({{{"type", "state_change"}, {"payload", {{"name", "span_end"}, {"duration_ms", 40000}}}}}) ==
        "slow span span_end (40000ms)");
  CHECK(reason_of({span_end(40000, "")}) == "slow span span_end (40000ms)");
  // Integers compare exactly with the float threshold: 2^53 + 1 is above 2^53.
  policy::TailPolicy big;
  big.span_latency_ms_threshold = 9007199254740992.0;
  big.session_latency_ms_threshold = kInf;
  CHECK(reason_of({span_end(std::int64_t{9007199254740993})}, big) == "slow span s (9007199254740992ms)");
  CHECK(reason_of({span_end(std::uint64_t{18446744073709551615u})}, big) == "slow span s (18446744073709551616ms)");
  CHECK(reason_of({span_end(std::int64_t{9007199254740992})}, big) == "boring success (kept)");
  // int() truncates toward zero: -0.5 is 0, not -0.
  policy::TailPolicy negative;
  negative.span_latency_ms_threshold = -1;
  CHECK(reason_of({span_end(-0.5)}, negative) == "slow span s (0ms)");
  negative.span_latency_ms_threshold = kInf;
  negative.session_latency_ms_threshold = -1;
  CHECK(reason_of({span_end(-0.5)}, negative) == "slow session (0ms of span time)");
  // The session total, over span ends of both forms.
  CHECK(reason_of({span_end(29999.9), span_end(29999.9), span_end(29999.9),
                   {{"type", "span_end"}, {"payload", {{"duration_ms", 30000}}}}, span_end(0.5)}) ==
        "slow session (120000ms of span time)");
  // NaN is never slow and makes the total NaN, which is never slow either (as in the reference).
  policy::TailPolicy only_session;
  only_session.span_latency_ms_threshold = kInf;
  CHECK(reason_of({span_end(100000), span_end(kNaN), span_end(100000)}, only_session) == "boring success (kept)");
  CHECK(reason_of({span_end(100000), span_end(100000)}, only_session) == "slow session (200000ms of span time)");
  // Infinity: the reference raises in int(); the C++ reason writes "inf".
  CHECK(reason_of({span_end(kInf, "forever")}) == "slow span forever (infms)");
  CHECK(reason_of({span_end(1e308), span_end(1e308)}, only_session) == "slow session (infms of span time)");
  CHECK(reason_of({span_end(1e20)}) == "slow span s (100000000000000000000ms)");
  // A retry loop beats a slow span.
  const json t = tool_call("search", 1);
  CHECK(reason_of({span_end(99999), t, t, t}) == "retry loop on search (x3)");
}

TEST_CASE("tail sampling: the boring keep rate", "[policy][sampling]") {
  const std::vector<json> boring = {{{"type", "user_message"}, {"payload", {{"content", "hi"}}}}};
  CHECK(decide(boring, 1.0).keep);
  CHECK_FALSE(decide(boring, 0.0).keep);
  CHECK_FALSE(decide(boring, kNaN).keep);
  policy::TailPolicy zero;
  zero.boring_success_keep_rate = 0.0;
  CHECK_FALSE(decide(boring, 1.0, zero).keep);
  policy::TailPolicy one;
  one.boring_success_keep_rate = 1.0;
  const auto kept = decide(boring, 0.0, one);
  CHECK(kept.keep);
  CHECK_FALSE(kept.interesting);
  CHECK(kept.reason == "boring success (kept)");
  for (const char* id : {"sess_abc", "sess_xyz"}) {
    CAPTURE(id);
    CHECK(decide(boring, 0.3, {}, id).keep == (policy::hash_fraction(id) < 0.3));
  }
  // An interesting session is kept whatever the rates.
  const auto failed = decide({{{"type", "error"}}}, 0.0, zero);
  CHECK(failed.keep);
  CHECK(failed.interesting);
}

// ---- Cost ---------------------------------------------------------------------------------------

TEST_CASE("resolve_price: exact, case-insensitive, longest prefix, replaced table", "[policy][cost]") {
  CHECK_FALSE(policy::resolve_price("").has_value());
  CHECK_FALSE(policy::resolve_price("gpt-5").has_value());
  CHECK_FALSE(policy::resolve_price("mystery-model-x").has_value());
  CHECK_FALSE(policy::resolve_price(" gpt-4o").has_value());
  REQUIRE(policy::resolve_price("GPT-4O").has_value());
  CHECK(policy::resolve_price("GPT-4O")->input_per_1k == 0.0025);
  CHECK(policy::resolve_price("gpt-4o-2024-08-06")->output_per_1k == 0.01);
  CHECK(policy::resolve_price("gpt-4.1-2025-04-14")->input_per_1k == 0.002);  // gpt-4.1, not gpt-4
  CHECK(policy::resolve_price("gpt-4.1-mini-x")->input_per_1k == 0.0004);
  CHECK(policy::resolve_price("gpt-4-0613")->input_per_1k == 0.03);
  CHECK(policy::resolve_price("claude-3-5-sonnet-20241022")->input_per_1k == 0.003);
  for (const char* model : {"claude-sonnet-4", "claude-opus-4", "gpt-4.1-mini", "o3", "claude-haiku-4-5"}) {
    CAPTURE(model);
    CHECK(policy::resolve_price(model).has_value());
  }
  // U+0130 lowercases to "i" + U+0307 in Python, so "o1-minİ" is priced as o1-mini, not o1.
  REQUIRE(policy::resolve_price("o1-min\xC4\xB0").has_value());
  CHECK(policy::resolve_price("o1-min\xC4\xB0")->input_per_1k == 0.0011);
  CHECK(policy::resolve_price("O1-MIN\xC4\xB0-x")->input_per_1k == 0.0011);

  const std::map<std::string, policy::Price> custom = {
      {"my-model", {1.0, 2.0}}, {"My-Upper", {9.0, 9.0}}, {"k", {4.0, 4.0}}};
  CHECK(policy::resolve_price("MY-MODEL-v2", &custom)->output_per_1k == 2.0);
  CHECK_FALSE(policy::resolve_price("gpt-4o", &custom).has_value());      // the table is replaced
  CHECK_FALSE(policy::resolve_price("My-Upper", &custom).has_value());    // keys compared as written
  CHECK(policy::resolve_price("\xE2\x84\xAA" "elvin", &custom)->input_per_1k == 4.0);  // KELVIN SIGN -> k
  const std::map<std::string, policy::Price> empty;
  CHECK_FALSE(policy::resolve_price("gpt-4o", &empty).has_value());
  const std::map<std::string, policy::Price> catch_all = {{"", {0.5, 0.5}}};
  CHECK(policy::resolve_price("anything", &catch_all)->input_per_1k == 0.5);
  CHECK_FALSE(policy::resolve_price("", &catch_all).has_value());
}

TEST_CASE("estimate_cost reads token counts as the reference's int() does", "[policy][cost]") {
  const auto cost = [](const json& in, const json& out = 0) { return policy::estimate_cost("gpt-4o", in, out); };
  const double thousand = policy::estimate_cost("gpt-4o", 1000, 0);
  CHECK(same_double(thousand, 0.0025));
  CHECK(same_double(policy::estimate_cost("gpt-4o", 1000, 1000), 0.0025 + 0.01));
  CHECK(same_double(policy::estimate_cost("gpt-4o-mini", 2000, 500), 2 * 0.00015 + 0.5 * 0.0006));
  CHECK(policy::estimate_cost("mystery", 1000, 1000) == 0.0);
  CHECK(policy::estimate_cost("", 1000, 1000) == 0.0);
  // Counted as 0.
  for (const json& zero : {json(nullptr), json(true), json(false), json(-5), json(-0.5), json(0.9), json(kNaN),
                           json(kInf), json(-kInf), json("1e3"), json("12.5"), json(""), json("  "), json("-"),
                           json("1__0"), json("_10"), json("10_"), json("0x10"), json("ten"), json("-1000"),
                           json("\x1f" "1000"),
                           json::array({1000}), json{{"n", 1000}}}) {
    CAPTURE(zero.dump());
    CHECK(cost(zero) == 0.0);
  }
  // Counted as 1000.
  for (const json& n : {json(1000), json(1000u), json(1000.0), json(1000.99), json("1000"), json(" 1000\n"),
                        json("+1000"), json("1_000"), json("0001000"), json("\v\t1000\f\r")}) {
    CAPTURE(n.dump());
    CHECK(same_double(cost(n), thousand));
  }
  // Python ints are unbounded: a 30-digit count is priced as float(int) would price it.
  CHECK(same_double(cost("123456789012345678901234567890"), 123456789012345678901234567890.0 / 1000.0 * 0.0025));
  CHECK(same_double(cost(1e300), 1e300 / 1000.0 * 0.0025));
  // More than 4300 digits: int() refuses it.
  CHECK(cost(std::string(4301, '1')) == 0.0);
  CHECK(same_double(cost(std::string(4290, '0') + "1000"), thousand));
  // Beyond the largest double: Python raises OverflowError; counted as 0.
  CHECK(cost("1" + std::string(400, '0')) == 0.0);
  // A price table of the caller's.
  const std::map<std::string, policy::Price> custom = {{"my-model", {1.0, 2.0}}};
  CHECK(policy::estimate_cost("my-model", 1000, 1000, &custom) == 3.0);
  CHECK(policy::estimate_cost("gpt-4o", 1000, 1000, &custom) == 0.0);
}

TEST_CASE("estimate_tokens counts code points, not bytes", "[policy][cost]") {
  CHECK(policy::estimate_tokens("") == 0);
  CHECK(policy::estimate_tokens("a") == 1);
  CHECK(policy::estimate_tokens("hi") == 1);
  CHECK(policy::estimate_tokens(std::string(40, 'x')) == 10);
  CHECK(policy::estimate_tokens(std::string(41, 'x')) == 11);
  CHECK(policy::estimate_tokens("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9") == 1);  // 4 x U+00E9, 8 bytes
  CHECK(policy::estimate_tokens("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9") == 2);
  CHECK(policy::estimate_tokens("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E") == 1);  // 日本語
  CHECK(policy::estimate_tokens("\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80") == 1);  // 4 emoji
  CHECK(policy::estimate_tokens(std::string_view("\0\0\0\0\0", 5)) == 2);
  // An invalid byte counts as one code point (written as U+FFFD).
  CHECK(policy::estimate_tokens("\xFF\xFF\xFF\xFF") == 1);
  CHECK(policy::estimate_tokens("\xFF\xFF\xFF\xFF\xFF") == 2);
  CHECK(policy::estimate_tokens("\xE6\x97") == 1);  // a truncated sequence: two invalid bytes
  CHECK(policy::estimate_tokens("\xED\xA0\x80\xED\xA0\x80x") == 2);  // encoded surrogates: 6 invalid bytes + x
}

TEST_CASE("format_cost summarises the llm_call events", "[policy][cost]") {
  CHECK(policy::format_cost({}) == "$0.0000 across 0 LLM call(s); 0 in / 0 out tokens");
  CHECK(policy::format_cost({llm_call("gpt-4o", 1000, 1000), llm_call("gpt-4o", 2000, 1000),
                             {{"type", "user_message"}, {"payload", {{"input_tokens", 5}}}}, json(nullptr)}) ==
        "$0.0275 across 2 LLM call(s); 3000 in / 2000 out tokens");
  // Unpriced: names sorted and distinct; a call with no usable model name is "unknown".
  CHECK(policy::format_cost({llm_call("zeta", 1, 2), llm_call("alpha", 3, 4), llm_call("zeta", 5, 6)}) ==
        "$0.0000 across 3 LLM call(s); 9 in / 12 out tokens; 3 unpriced (alpha, zeta)");
  CHECK(policy::format_cost({llm_call(nullptr, 1, 1), llm_call("", 1, 1), llm_call(5, 1, 1)}) ==
        "$0.0000 across 3 LLM call(s); 3 in / 3 out tokens; 3 unpriced (unknown)");
  CHECK(policy::format_cost({{{"type", "llm_call"}}, {{"type", "llm_call"}, {"payload", "x"}}}) ==
        "$0.0000 across 2 LLM call(s); 0 in / 0 out tokens; 2 unpriced (unknown)");
  // Missing counts: priced, 0 tokens.
  CHECK(policy::format_cost({{{"type", "llm_call"}, {"payload", {{"model", "gpt-4o"}}}}}) ==
        "$0.0000 across 1 LLM call(s); 0 in / 0 out tokens");
  // Token sums are exact, as Python ints are.
  CHECK(policy::format_cost({llm_call("x", std::uint64_t{18446744073709551615u}, "99999999999999999999"),
                             llm_call("x", std::uint64_t{18446744073709551615u}, 1)}) ==
        "$0.0000 across 2 LLM call(s); 36893488147419103230 in / 100000000000000000000 out tokens; 2 unpriced (x)");
  // .4f rounds the binary value exactly, as Python does (0.00005 is just below a half).
  const std::map<std::string, policy::Price> tiny = {{"t", {0.00005, 0.0}}};
  CHECK(policy::format_cost({llm_call("t", 1000, 0)}, &tiny) == "$0.0001 across 1 LLM call(s); 1000 in / 0 out tokens");
  const std::map<std::string, policy::Price> odd = {{"t", {kNaN, 0.0}}};
  CHECK(policy::format_cost({llm_call("t", 1000, 0)}, &odd) == "$nan across 1 LLM call(s); 1000 in / 0 out tokens");
}

TEST_CASE("SessionCost::tokens saturates at the int64 limits", "[policy][cost]") {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  policy::SessionCost cost;
  cost.input_tokens = 1200;
  cost.output_tokens = 300;
  CHECK(cost.tokens() == 1500);
  cost.input_tokens = kMax;
  cost.output_tokens = 1;
  CHECK(cost.tokens() == kMax);
  cost.output_tokens = kMax;
  CHECK(cost.tokens() == kMax);
  cost.input_tokens = kMin;
  cost.output_tokens = -1;
  CHECK(cost.tokens() == kMin);
  // What session_cost reads from two calls with counts beyond 64 bits.
  const json call = {{"type", "llm_call"},
                     {"payload", {{"model", "m"}, {"input_tokens", kMax}, {"output_tokens", kMax}}}};
  CHECK(policy::session_cost({call, call}).tokens() == kMax);
}
