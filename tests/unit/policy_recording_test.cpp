// The policy as the SDK applies it to what it records (Options: redact, redact_options,
// redactor, redact_fail_open, sample_rate, event_sample_rates): redaction on the worker gives
// exactly policy::redact of the event, head and per-type sampling record what the rules say and
// count the rest, a failing redactor fails closed (or open) and is counted, nothing secret
// reaches a spool file, and spool replay redacts lines written without redaction.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_writer.hpp"
#include "policy/recording_policy.hpp"
#include "promptetheus/policy.hpp"
#include "promptetheus/promptetheus.hpp"
#include "promptetheus/testing.hpp"
#include "sdk_test_support.hpp"
#include "support/planted_secrets.hpp"
#include "transport/spool_replay.hpp"

namespace {

using planted::files_under;
using planted::kSecrets;
using planted::record_secret_session;
namespace pt = promptetheus;
namespace fs = std::filesystem;
using nlohmann::json;

// Events as compared across two recordings: the identity that differs between runs (time,
// nonce, random span ids) is replaced by fixed strings.
json comparable(json event) {
  event.erase("timestamp");
  event.erase("idempotency_key");
  for (const char* key : {"span_id", "parent_id"}) {
    if (event.contains(key) && event[key].is_string() && event[key].get<std::string>().rfind("span_", 0) == 0) {
      event[key] = "span";
    }
  }
  if (event["type"] == "tool_call" || event["type"] == "tool_result") event["payload"].erase("call_id");
  // Durations are measured, so two runs of the same code differ in them (a slow build: 0 vs 1 ms).
  if (event["payload"].is_object() && event["payload"].contains("duration_ms")) event["payload"]["duration_ms"] = 0;
  return event;
}

std::vector<json> captured(const pt::Options& client_options) {
  pt::SessionOptions options;
  options.session_id = "sess-compare";
  options.agent = "agent of alice.secret@example.com";
  pt::testing::CaptureSession capture(options, client_options);
  pt::Session& session = capture.session();
  session.user_message("my key is sk-live0123456789abcdefXYZ, mail alice.secret@example.com",
                       {{"credential", "metadata-credential-value"}, {"Token_count", 3}});
  {
    pt::Span span(session, "lookup");
    pt::ToolCall call(session, "crm.search",
                      {{"query", "alice.secret@example.com"},
                       {"auth", {{"access_token", "tok-under-a-nested-key"}, {"user_id", "u-1"}}},
                       {"deep", {{"a", {{"b", {{"password", json::array({1, "x"})}}}}}}},
                       {"list", {"AKIAABCDEFGHIJKLMNOP", 3, nullptr, true, 2.5}}});
    call.set_result({{"rows", {{{"email", "bob@example.org"}, {"api_key", "hunter2-password-value"}}}}});
  }
  session.llm_call("gpt-4o", {1200, 300, 850});
  session.error("token ghp_abcdefghijklmnopqrstuvwxyz0123 expired", "LookupError");
  session.end();
  std::vector<json> events;
  for (auto& e : capture.events()) events.push_back(comparable(std::move(e)));
  return events;
}

}  // namespace

TEST_CASE("redaction on the worker gives exactly policy::redact of the event", "[policy][recording]") {
  // One client redacts in place (Options::redact); the other hands every event to a redactor
  // that calls the public policy::redact with the same options. Their records must be equal.
  struct Case {
    const char* name;
    std::string redact;
    pt::policy::RedactOptions options;
  };
  pt::policy::RedactOptions custom;
  custom.allow_keys = {"USER_ID"};
  custom.extra_sensitive_keys = {"Query"};
  custom.extra_patterns = {{"crm", R"(\bcrm\.\w+)"}, {"lookup", "look(up)"}};
  pt::policy::RedactOptions span_pattern;  // matches the SDK's span ids: the copying walk
  span_pattern.extra_patterns = {{"span", "span_[0-9a-f]{32}"}};
  const std::vector<Case> cases = {
      {"default", "default", {}},
      {"hash", "hash", {}},
      {"custom options", "default", custom},
      {"a pattern that matches span ids", "default", span_pattern},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      pt::Options in_place;
      in_place.redact = c.redact;
      in_place.redact_options = c.options;
      pt::Options through_json;
      pt::policy::RedactOptions reference = c.options;
      reference.hash_values = c.redact == "hash";
      through_json.redactor = [reference](json event) { return pt::policy::redact(event, reference); };
      const auto got = captured(in_place);
      const auto expected = captured(through_json);
      REQUIRE(got.size() == 9);
      REQUIRE(got.size() == expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("event " << i << ": " << got[i].dump());
        CHECK(got[i] == expected[i]);
      }
      const std::string all = json(got).dump();
      CHECK(all.find("sk-live0123456789abcdefXYZ") == std::string::npos);
      CHECK(all.find("tok-under-a-nested-key") == std::string::npos);
      CHECK(all.find("hunter2-password-value") == std::string::npos);
      if (std::string(c.name) == "a pattern that matches span ids") {
        // The contract scrubs span ids like any other string; the records say so.
        CHECK(got[2]["span_id"] == "[REDACTED]");
      }
    }
  }
}

TEST_CASE("redaction keeps token counts and the envelope, and counts what it replaced", "[policy][recording]") {
  pt::Options options;
  options.redact = "default";
  pt::testing::CaptureSession capture({}, options);
  capture->llm_call("gpt-4o", {1200, 300, 850});
  capture->user_message("nothing secret here");
  capture->user_message("mail alice.secret@example.com");
  const auto llm = capture.last("llm_call");
  REQUIRE(llm);
  CHECK((*llm)["payload"]["input_tokens"] == 1200);
  CHECK((*llm)["payload"]["output_tokens"] == 300);
  const auto messages = capture.of_type("user_message");
  REQUIRE(messages.size() == 2);
  CHECK(messages[0]["payload"]["content"] == "nothing secret here");
  CHECK(messages[1]["payload"]["content"] == "mail [REDACTED]");
  CHECK(messages[1]["session_id"] == capture->id());
  CHECK(capture.stats().redacted == 1);
  CHECK(capture.stats().redaction_failed == 0);
}

TEST_CASE("a redactor that throws fails closed, and is counted", "[policy][recording]") {
  pt::Options options;
  std::atomic<int> calls{0};
  options.redactor = [&calls](json event) -> json {
    if (event.value("type", "") == "user_message") throw std::runtime_error("redactor bug");
    ++calls;
    return event;
  };
  pt::testing::CaptureSession capture({}, options);
  capture->user_message("my key is sk-live0123456789abcdefXYZ", {{"k", "v"}});
  capture->agent_message("fine");
  const auto events = capture.events();
  const auto message = capture.last("user_message");
  REQUIRE(message);
  CHECK((*message)["payload"] == json{{"redaction_failed", true}});
  CHECK_FALSE(message->contains("metadata"));
  CHECK((*message)["seq"] == 1);
  CHECK((*message)["session_id"] == capture->id());
  CHECK(json(events).dump().find("sk-live") == std::string::npos);
  CHECK(capture.last("agent_message").value()["payload"]["content"] == "fine");
  CHECK(capture.stats().redaction_failed == 1);
  CHECK(calls > 0);
}

TEST_CASE("fail open records the event unredacted, and counts it", "[policy][recording]") {
  pt::Options options;
  options.redact_fail_open = true;
  options.redactor = [](json) -> json { return 42; };  // not an object: a failure
  pt::testing::CaptureSession capture({}, options);
  capture->user_message("kept as is");
  const auto message = capture.last("user_message");
  REQUIRE(message);
  CHECK((*message)["payload"]["content"] == "kept as is");
  CHECK(capture.stats().redaction_failed >= 2);  // session_started and the message
}

TEST_CASE("a redactor cannot change an event's identity", "[policy][recording]") {
  pt::Options options;
  options.redactor = [](json event) {
    event["type"] = "score";
    event["seq"] = 999;
    event.erase("session_id");
    event["payload"]["extra"] = "added";
    return event;
  };
  pt::testing::CaptureSession capture({}, options);
  capture->agent_message("hello");
  const auto message = capture.last("agent_message");
  REQUIRE(message);
  CHECK((*message)["seq"] == 1);
  CHECK((*message)["session_id"] == capture->id());
  CHECK((*message)["payload"]["extra"] == "added");
}

TEST_CASE("an extra pattern that does not compile fails every event closed", "[policy][recording]") {
  pt::Options options;
  options.redact = "default";
  options.redact_options.extra_patterns = {{"broken", "(unclosed"}};
  pt::testing::CaptureSession capture({}, options);
  capture->user_message("mail alice.secret@example.com");
  const auto events = capture.events();
  REQUIRE(events.size() == 2);
  for (const auto& e : events) CHECK(e["payload"] == json{{"redaction_failed", true}});
  CHECK(capture.stats().redaction_failed == 2);
}

TEST_CASE("an unknown redact name redacts nothing and says so", "[policy][recording]") {
  pt::Options options;
  options.redact = "nonsense";
  std::vector<std::string> problems;
  std::shared_ptr<const promptetheus::detail::EventPolicy> policy;
  CHECK(promptetheus::detail::make_event_policy(options, policy, problems));
  CHECK(policy == nullptr);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("nonsense") != std::string::npos);
  pt::testing::CaptureSession capture({}, options);
  capture->user_message("mail alice.secret@example.com");
  CHECK(capture.last("user_message").value()["payload"]["content"] == "mail alice.secret@example.com");
}

TEST_CASE("with redaction on, no planted secret reaches a spool file, the overflow spill included",
          "[policy][recording]") {
  sdk_test::TempDir dir;
  pt::Options options;
  options.transport = pt::TransportMode::spool;
  options.spool_dir = (dir.path / "spool").string();
  options.artifact_dir = (dir.path / "artifacts").string();
  options.redact = "default";
  options.flush_at_exit = false;
  options.max_queue_events = 2;  // most events take the caller's overflow spill
  {
    pt::Client client(options);
    for (int i = 0; i < 3; ++i) record_secret_session(sdk_test::session_on(client, "sess-secret-" + std::to_string(i)));
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
    const auto stats = client.stats();
    CHECK(stats.overflow_spilled > 0);
    CHECK(stats.spooled == stats.enqueued);
    CHECK(stats.redacted > 0);
  }
  const auto files = files_under(dir.path);
  REQUIRE_FALSE(files.empty());
  for (const auto& [path, content] : files) {
    for (const auto& secret : kSecrets) {
      INFO(path);
      CHECK(content.find(secret) == std::string::npos);
    }
  }
  std::size_t spool_lines = 0, llm_calls_with_tokens = 0;
  for (const auto& [path, content] : files) {
    if (path.find("/spool/") == std::string::npos) continue;
    spool_lines += static_cast<std::size_t>(std::count(content.begin(), content.end(), '\n'));
    for (std::size_t at = content.find("\"input_tokens\":1200"); at != std::string::npos;
         at = content.find("\"input_tokens\":1200", at + 1)) {
      ++llm_calls_with_tokens;
    }
  }
  CHECK(spool_lines == 3 * planted::kSecretSessionEvents);
  CHECK(llm_calls_with_tokens == 3);  // token counts survive redaction
  CHECK(files.size() > 3);            // the screenshots' artifact files were looked at too
}

TEST_CASE("the trace body of a session is redacted as its session_started event", "[policy][recording]") {
  auto collector = std::make_shared<sdk_test::Collector>();
  pt::Options options;
  options.redact = "default";
  options.transport_factory = sdk_test::shared_transport(collector);
  options.flush_at_exit = false;
  {
    pt::Client client(options);
    record_secret_session(sdk_test::session_on(client, "sess-body"));
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
  }
  std::vector<std::string> bodies;
  for (const auto& e : collector->events) {
    if (e.trace_body) bodies.push_back(*e.trace_body);
  }
  REQUIRE(bodies.size() == collector->events.size());
  const json body = json::parse(bodies.front());
  CHECK(body["id"] == "sess-body");
  CHECK(body["agent"] == "agent of [REDACTED]");
  CHECK(body["user_goal"] == "use [REDACTED] to book");
  CHECK(body["metadata"]["password"] == "[REDACTED]");
  CHECK(body["tags"] == json::array({"owner:[REDACTED]", "plain"}));
  for (const auto& e : collector->events) {
    CHECK(e.trace_body.get() == collector->events.front().trace_body.get());  // made once, shared
  }
}

TEST_CASE("spool replay redacts lines an older run wrote without redaction", "[policy][recording]") {
  sdk_test::TempDir dir;
  pt::Options plain;
  plain.transport = pt::TransportMode::spool;
  plain.spool_dir = (dir.path / "spool").string();
  plain.artifact_dir = (dir.path / "artifacts").string();
  plain.flush_at_exit = false;
  {
    pt::Client client(plain);
    record_secret_session(sdk_test::session_on(client, "sess-old-run"));
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
  }
  std::string unredacted;
  for (const auto& [path, content] : files_under(dir.path / "spool")) unredacted += content;
  REQUIRE(unredacted.find("sk-live0123456789abcdefXYZ") != std::string::npos);  // the old run's lines

  pt::Options redacting = plain;
  redacting.redact = "hash";
  std::vector<std::string> problems;
  promptetheus::detail::ReplayOptions replay;
  REQUIRE(promptetheus::detail::make_event_policy(redacting, replay.policy, problems));
  REQUIRE(replay.policy);
  std::vector<std::string> sent;
  std::vector<std::string> bodies;
  const auto report = promptetheus::detail::replay_spool(
      plain.spool_dir, replay, [&](const std::string&, std::vector<pt::EncodedEvent>& batch) {
        for (auto& e : batch) {
          sent.push_back(e.json);
          if (e.trace_body) bodies.push_back(*e.trace_body);
        }
        return promptetheus::detail::ReplayBatchResult{};
      });
  CHECK(report.events_sent == planted::kSecretSessionEvents);
  REQUIRE(sent.size() == planted::kSecretSessionEvents);
  REQUIRE(bodies.size() == 1);
  const std::string all = json(sent).dump() + json(bodies).dump();
  for (const auto& secret : kSecrets) CHECK(all.find(secret) == std::string::npos);
  CHECK(all.find("sha256:") != std::string::npos);
  // Redacting again changes nothing, in hash mode too: lines already redacted replay as they are.
  for (const auto& line : sent) {
    const json event = json::parse(line);
    pt::policy::RedactOptions hash;
    hash.hash_values = true;
    CHECK(promptetheus::detail::canonical_json(pt::policy::redact(event, hash)) == line);
  }
  CHECK(replay.policy->counts().redacted > 0);
}

TEST_CASE("head sampling records exactly the sessions the rule says, and counts the others",
          "[policy][sampling]") {
  auto collector = std::make_shared<sdk_test::Collector>();
  pt::Options options;
  options.sample_rate = 0.3;
  options.transport_factory = sdk_test::shared_transport(collector);
  options.flush_at_exit = false;
  constexpr int kSessions = 10000;
  std::set<std::string> expected;
  std::uint64_t not_recording = 0;
  {
    pt::Client client(options);
    for (int i = 0; i < kSessions; ++i) {
      const std::string id = "sess-head-" + std::to_string(i);
      if (pt::policy::head_sampled(id, 0.3)) expected.insert(id);
      pt::Session session(sdk_test::session_on(client, id));
      if (!session.is_recording()) {
        ++not_recording;
        CHECK_FALSE(session.user_message("dropped"));
      } else {
        CHECK(session.user_message("kept"));
      }
    }
    REQUIRE(client.shutdown(std::chrono::seconds(30)));
    const auto stats = client.stats();
    CHECK(stats.sessions_sampled_out == kSessions - expected.size());
    CHECK(stats.enqueued == 3 * expected.size());
    CHECK(stats.delivered == stats.enqueued);
  }
  std::set<std::string> recorded;
  for (const auto& e : collector->events) recorded.insert(e.session_id);
  CHECK(recorded == expected);
  CHECK(not_recording == kSessions - expected.size());
  // About 30% (the hash is uniform): a loose bound that catches a rule inverted or ignored.
  CHECK(expected.size() > 2700);
  CHECK(expected.size() < 3300);
}

TEST_CASE("per-type sampling keeps what type_sampled says and always keeps the lifecycle types",
          "[policy][sampling]") {
  pt::Options options;
  options.event_sample_rates = {{"tool_call", 0.5}, {"metric", 0.0}, {"state_change", 0.0}};
  pt::testing::CaptureSession capture({}, options);
  constexpr int kCalls = 400;
  for (int i = 0; i < kCalls; ++i) capture->tool_call("search", {{"i", i}});
  capture->metric("latency", 12.5);
  capture->end();
  const auto events = capture.events();
  std::size_t expected_calls = 0;
  const std::string prefix = events.front()["idempotency_key"].get<std::string>();  // "<sid>:<nonce>:0"
  const std::string key_prefix = prefix.substr(0, prefix.size() - 1);
  for (int seq = 1; seq <= kCalls; ++seq) {
    if (pt::policy::type_sampled("tool_call", key_prefix + std::to_string(seq), options.event_sample_rates)) {
      ++expected_calls;
    }
  }
  CHECK(capture.count("tool_call") == expected_calls);
  for (const auto& call : capture.of_type("tool_call")) {
    CHECK(pt::policy::type_sampled("tool_call", call["idempotency_key"].get<std::string>(),
                                   options.event_sample_rates));
  }
  CHECK(capture.count("metric") == 0);
  CHECK(capture.count("state_change") == 1);  // session_started: always kept
  CHECK(capture.count("session_end") == 1);
  CHECK(capture.stats().sampled_out == kCalls - expected_calls + 1);
  CHECK(expected_calls > 150);
  CHECK(expected_calls < 250);
}

TEST_CASE("doctor's description of the policy", "[policy][recording]") {
  pt::Options options;
  CHECK(promptetheus::detail::describe_policy(options) ==
        "  event rates  : (every type kept)\n  tail sample  : off\n  limits       : none\n  redaction    : off");
  options.redact = "hash";
  options.redact_options.allow_keys = {"user_id"};
  options.event_sample_rates = {{"metric", 0.1}};
  CHECK(promptetheus::detail::describe_policy(options) ==
        "  event rates  : metric=0.1 (session_end, error, goal_check, state_change always kept)\n"
        "  tail sample  : off\n"
        "  limits       : none\n"
        "  redaction    : default redactor, hashing values; allowed keys: user_id (fails closed)");
  options.max_string_bytes = 4096;
  CHECK(promptetheus::detail::describe_policy(options).find(
            "  limits       : strings 4096 bytes, events no limit\n") != std::string::npos);
  options.tail_sample = true;
  options.sample_rate = 0.25;
  CHECK(promptetheus::detail::describe_policy(options).find(
            "  tail sample  : on (kept: errors, failed goals or ends, retry loops of 3, spans over 30000.0 ms, "
            "sessions over 120000.0 ms of span time; boring sessions at 0.25)") != std::string::npos);
}

TEST_CASE("payload limits cut long strings with a marker that says how much, at a character boundary",
          "[policy][limits]") {
  pt::Options options;
  options.max_string_bytes = 10;
  pt::testing::CaptureSession capture({}, options);
  capture->user_message("0123456789abcdefghij", {{"note", std::string(25, 'n')}, {"short", "ok"}});
  capture->user_message(u8"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");  // 12 bytes: cut after the fifth é
  capture->tool_call("a.very.long.tool.name", {{"nested", {{"deep", std::string(40, 'd')}}}, {"n", 12345678}});
  const auto messages = capture.of_type("user_message");
  REQUIRE(messages.size() == 2);
  CHECK(messages[0]["payload"]["content"] == u8"0123456789\u2026[truncated 10 bytes]");
  CHECK(messages[0]["metadata"]["note"] == u8"nnnnnnnnnn\u2026[truncated 15 bytes]");
  CHECK(messages[0]["metadata"]["short"] == "ok");
  CHECK(messages[1]["payload"]["content"] == u8"\u00e9\u00e9\u00e9\u00e9\u00e9\u2026[truncated 2 bytes]");
  const auto call = capture.last("tool_call");
  REQUIRE(call);
  CHECK((*call)["payload"]["tool_name"] == u8"a.very.lon\u2026[truncated 11 bytes]");
  CHECK((*call)["payload"]["arguments"]["nested"]["deep"] == u8"dddddddddd\u2026[truncated 30 bytes]");
  CHECK((*call)["payload"]["arguments"]["n"] == 12345678);
  CHECK((*call)["session_id"] == capture->id());  // the envelope is never cut
  // session_started (agent "test-agent" and goal "test goal" fit), the 2 messages, the call.
  CHECK(capture.stats().truncated == 3);
}

TEST_CASE("an event past max_event_bytes is cut until it fits, else its payload is replaced",
          "[policy][limits]") {
  pt::Options options;
  options.max_event_bytes = 600;
  pt::testing::CaptureSession capture({}, options);
  capture->agent_message(std::string(5000, 'x'));
  json many = json::object();
  for (int i = 0; i < 100; ++i) many["key_" + std::to_string(i)] = i;
  capture->tool_call("wide", many);
  const auto events = capture.events();
  for (const auto& e : events) CHECK(promptetheus::detail::canonical_json(e).size() <= 600);
  const auto message = capture.last("agent_message");
  REQUIRE(message);
  const std::string content = (*message)["payload"]["content"];
  CHECK(content.find(u8"\u2026[truncated ") != std::string::npos);
  CHECK(content.rfind(std::string(16, 'x'), 0) == 0);
  const auto call = capture.last("tool_call");
  REQUIRE(call);
  CHECK((*call)["payload"]["truncated"] == true);
  CHECK((*call)["payload"]["original_bytes"].get<int>() > 600);
  CHECK(capture.stats().truncated == 2);
}

TEST_CASE("payload limits apply after redaction: a cut never leaves part of a secret", "[policy][limits]") {
  pt::Options options;
  options.redact = "default";
  options.max_string_bytes = 24;
  pt::testing::CaptureSession capture({}, options);
  capture->user_message("key: sk-live0123456789abcdefXYZ and more text after it");
  const auto message = capture.last("user_message");
  REQUIRE(message);
  const std::string content = (*message)["payload"]["content"];
  CHECK(content.rfind("key: [REDACTED] and more", 0) == 0);
  CHECK(content.find("sk-live") == std::string::npos);
}

TEST_CASE("a session's cost adds up its recorded llm_calls, with the default or the caller's prices",
          "[policy][cost]") {
  {
    pt::testing::CaptureSession capture;
    capture->llm_call("gpt-4o-mini", {1000, 500});
    const pt::policy::SessionCost cost = capture->cost();
    CHECK(cost.total_usd > 0);
    CHECK(cost.input_tokens == 1000);
    CHECK(cost.output_tokens == 500);
    CHECK(cost.llm_calls == 1);
    // The same figure as the public functions give for the recorded events.
    const auto from_events = pt::policy::session_cost(capture.events());
    CHECK(from_events.total_usd == cost.total_usd);
    CHECK(from_events.input_tokens == 1000);
    CHECK(pt::policy::format_cost(capture.events()) == "$0.0004 across 1 LLM call(s); 1000 in / 500 out tokens");
  }
  pt::Options options;
  options.prices = std::map<std::string, pt::policy::Price>{{"house-model", {1.0, 2.0}}};
  pt::testing::CaptureSession capture({}, options);
  capture->llm_call("House-Model-v2", {2000, 1000});
  capture->llm_call("gpt-4o", {100, 100});  // not in the caller's table: unpriced
  capture->llm_call("gpt-4o");
  capture->end();
  CHECK_FALSE(capture->llm_call("house-model", {5, 5}));  // after the end: not recorded, not counted
  const pt::policy::SessionCost cost = capture->cost();
  CHECK(cost.total_usd == 4.0);
  CHECK(cost.input_tokens == 2100);
  CHECK(cost.output_tokens == 1100);
  CHECK(cost.llm_calls == 3);
  CHECK(cost.priced_calls == 1);
  CHECK(cost.unknown_models == std::vector<std::string>{"gpt-4o"});
  CHECK(pt::SessionHandle().cost().llm_calls == 0);
}
