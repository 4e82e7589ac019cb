// Spool lines are byte-compatible with the reference SDK (contract §1.8, §4.7): the reference's
// own spool files re-serialise to identical bytes, and every line this SDK writes is canonical and
// passes envelope validation (§1.3).
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "core/event_validation.hpp"
#include "core/json_writer.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/tool_call.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;
using sdk_test::fs::path;

namespace {

std::vector<path> conformance_spool_files() {
  std::vector<path> files;
  path dir = path(PROMPTETHEUS_SHARED_DIR) / "conformance" / "public" / "spool";
  for (auto& entry : sdk_test::fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("every line of the reference spool files re-serialises to identical bytes", "[sdk][spool-format]") {
  auto files = conformance_spool_files();
  REQUIRE(files.size() >= 6);
  std::size_t lines = 0;
  for (const auto& file : files) {
    for (const auto& line : sdk_test::read_lines(file)) {
      if (line.empty()) continue;
      ++lines;
      json parsed = json::parse(line);
      std::string out;
      promptetheus::detail::write_json(out, parsed);
      INFO(file.filename().string() << ": " << line);
      CHECK(out == line);
    }
  }
  CHECK(lines >= 70);
}

TEST_CASE("every line the SDK writes is canonical and passes envelope validation", "[sdk][spool-format]") {
  sdk_test::TempDir dir;
  Client client(sdk_test::spool_options(dir));
  path shot = dir.path / "page.png";
  std::ofstream(shot, std::ios::binary) << "PNG";
  std::string id;
  {
    SessionOptions so;
    so.client = &client;
    so.agent = "format \xe2\x9c\x93";
    so.user_goal = "write \"every\" helper\n";
    so.tags = {"t1"};
    so.metadata = json{{"b", 1}, {"a", {{"z", 1.5}, {"y", nullptr}}}};
    Session s(so);
    id = s.id();
    Span outer(s, "outer", json{{"k", "v"}});
    s.user_message("Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80 \x07 invalid:\xff", json{{"channel", "voice"}});
    s.agent_message("reply");
    {
      ToolCall tc(s, "search", json{{"q", "x"}, {"limit", 3}});
      tc.set_result(json{{"rows", {1, 2.5, -0.0, 1e22, nullptr, true}}});
    }
    std::string cid = s.tool_call("raw", json::object(), "call-1");
    s.tool_result(cid, nullptr, std::string("failed"));
    s.retrieval("q", json::array({json{{"id", "d"}, {"score", 0.1}}}));
    s.browser_action("click", "#b", std::string("https://x.test/"));
    s.dom_snapshot("https://x.test/", "text", json{{"f", "v"}}, {"w"});
    s.screenshot(std::vector<std::uint8_t>{1, 2, 3});
    s.screenshot(shot);
    s.screenshot(dir.path / "missing.png");
    s.replay_artifact(std::vector<std::uint8_t>{4, 5}, "screen_recording", json{{"2", 10}});
    LlmUsage usage;
    usage.input_tokens = 5;
    usage.output_tokens = 7;
    usage.latency_ms = 90;
    usage.prompt_ref = "p";
    usage.messages_ref = "m";
    s.llm_call("model-a", usage);
    s.llm_call("model-b");
    s.goal_check(false, {"wrong day"});
    s.state_change("step", 1, json{{"to", 2}});
    s.update_metadata(json{{"k", "v"}});
    s.add_tags({"t2"});
    s.score("quality", 0.75, std::string("ok"), std::string("judge"));
    s.metric("latency", 1e-07, std::string("s"));
    s.error(std::runtime_error("boom"));
    s.error(std::string("message only"), std::string("Kind"), false);
  }
  REQUIRE(client.flush(std::chrono::seconds(5)));
  auto lines = sdk_test::read_lines(dir.path / "spool" / (id + ".jsonl"));
  REQUIRE(lines.size() == 27);  // one line per event recorded above
  std::set<std::string> types;
  for (const auto& line : lines) {
    INFO(line);
    for (unsigned char c : line) REQUIRE((c >= 0x20 && c < 0x7f));  // ASCII only, no raw controls
    json parsed = json::parse(line);
    auto error = promptetheus::detail::validate_event(parsed);
    CHECK_FALSE(error.has_value());
    if (error) FAIL_CHECK(error->message);
    CHECK(promptetheus::detail::canonical_json(parsed) == line);
    types.insert(parsed.at("type").get<std::string>());
    // Everything between session_started and session_end happened inside the span `outer`.
    bool edge = parsed.at("type") == "session_end" || parsed.at("payload").value("name", "") == "session_started";
    CHECK(parsed.contains("span_id") == !edge);
  }
  for (auto type : promptetheus::detail::kEventTypes) CHECK(types.count(std::string(type)) == 1);
}
