// `promptetheus redact`: the redaction vectors of ../shared/conformance/public/policy.json run
// through the built CLI, their inputs as JSONL (one run per set of options), each output line
// compared with the canonical form of the expected event; and the command's error handling.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "conformance/subprocess.hpp"
#include "core/json_writer.hpp"

namespace {

using nlohmann::json;
using promptetheus::test::run_process;
using promptetheus::test::TempDir;

const std::string kPolicyFile = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/policy.json";

std::vector<std::string> flags_for(const json& options) {
  std::vector<std::string> args{"redact"};
  for (const auto& k : options.value("allow_keys", json::array())) {
    args.push_back("--allow-key");
    args.push_back(k.get<std::string>());
  }
  for (const auto& k : options.value("extra_sensitive_keys", json::array())) {
    args.push_back("--sensitive-key");
    args.push_back(k.get<std::string>());
  }
  for (const auto& p : options.value("extra_patterns", json::array())) {
    args.push_back("--pattern");
    args.push_back(p.at(0).get<std::string>() + "=" + p.at(1).get<std::string>());
  }
  if (options.value("hash_values", false)) args.push_back("--hash");
  return args;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("redact CLI: every public redaction vector", "[conformance][cli][policy]") {
  std::ifstream in(kPolicyFile);
  const auto doc = json::parse(in, nullptr, false);
  REQUIRE(doc.is_object());
  const json& vectors = doc.at("redaction");
  REQUIRE(vectors.size() == 40);

  // The vectors grouped by options, in file order within a group.
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < vectors.size(); ++i) groups[vectors[i].at("options").dump()].push_back(i);

  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  std::size_t checked = 0;
  for (const auto& [options, indices] : groups) {
    std::string input;
    for (std::size_t i : indices) input += vectors[i].at("input").dump() + "\n";
    const std::string path = dir.path() + "/events.jsonl";
    write_file(path, input);
    auto args = flags_for(json::parse(options));
    args.push_back(path);
    const auto result = run_process(PROMPTETHEUS_CLI_PATH, args, dir.path());
    INFO("options: " << options << "\nstderr: " << result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.err.empty());
    const auto lines = lines_of(result.out);
    REQUIRE(lines.size() == indices.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
      INFO("vector " << indices[k]);
      CHECK(lines[k] == promptetheus::detail::canonical_json(vectors[indices[k]].at("expected")));
      ++checked;
    }
  }
  CHECK(checked == 40);
}

TEST_CASE("redact CLI: malformed lines are reported and skipped", "[conformance][cli][policy]") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/spool.jsonl";
  write_file(path,
             "{\"type\":\"user_message\",\"payload\":{\"content\":\"jo@example.com\"}}\n"
             "{\"type\":\"user_mess\n"  // a torn write
             "\n"
             "[1,2]\r\n"
             "{\"type\":\"user_message\",\"payload\":{\"password\":\"hunter2\"}}\r\n");
  const auto result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", path}, dir.path());
  CHECK(result.exit_code == 1);
  CHECK(result.out ==
        "{\"payload\":{\"content\":\"[REDACTED]\"},\"type\":\"user_message\"}\n"
        "{\"payload\":{\"password\":\"[REDACTED]\"},\"type\":\"user_message\"}\n");
  CHECK(result.err.find("line 2:") != std::string::npos);
  CHECK(result.err.find("line 4:") != std::string::npos);
  CHECK(result.err.find("line 3:") == std::string::npos);  // blank lines are not errors
}

TEST_CASE("redact CLI: an export document is read as its events", "[conformance][cli][policy]") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/export.json";
  const json first = {{"type", "user_message"}, {"payload", {{"content", "AKIAIOSFODNN7EXAMPLE"}}}};
  const json second = {{"type", "error"}, {"payload", {{"message", "ok"}}}};
  const json doc = {{"session_id", "s"}, {"events", json::array({first, second})}};
  write_file(path, doc.dump(2) + "\n");
  const auto result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", "--hash", path}, dir.path());
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 0);
  CHECK(lines_of(result.out) ==
        std::vector<std::string>{"{\"payload\":{\"content\":\"sha256:1a5d44a2dca1\"},\"type\":\"user_message\"}",
                                 "{\"payload\":{\"message\":\"ok\"},\"type\":\"error\"}"});
}

TEST_CASE("redact CLI: usage errors and invalid patterns exit 64", "[conformance][cli][policy]") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/spool.jsonl";
  write_file(path, "{\"payload\":{}}\n");

  auto result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", "--pattern", "bad=(unclosed", path}, dir.path());
  CHECK(result.exit_code == 64);
  CHECK(result.out.empty());
  CHECK(result.err.find("invalid --pattern bad") != std::string::npos);

  result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", "--pattern", "no-equals-sign", path}, dir.path());
  CHECK(result.exit_code == 64);
  CHECK(result.err.find("NAME=REGEX") != std::string::npos);

  result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", "--bogus", path}, dir.path());
  CHECK(result.exit_code == 64);

  result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", dir.path() + "/missing.jsonl"}, dir.path());
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("missing.jsonl") != std::string::npos);

  // A pattern with '=' in the regex: split at the first one.
  result = run_process(PROMPTETHEUS_CLI_PATH, {"redact", "--pattern", "kv=key=\\w+", path}, dir.path());
  CHECK(result.exit_code == 0);
}
