// Mutated spool files (truncated, bytes flipped, garbage lines inserted) never crash the
// analysis library or the CLI, and the reader accounts for every line.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "analysis/diff.hpp"
#include "analysis/export_document.hpp"
#include "analysis/fingerprint.hpp"
#include "analysis/replay.hpp"
#include "analysis/reports.hpp"
#include "analysis/session_store.hpp"
#include "analysis/trace_tree.hpp"
#include "conformance/subprocess.hpp"

using namespace promptetheus::analysis;

namespace {

const std::string kSpoolDir = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/spool";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string mutate(std::string text, std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 5);
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds && !text.empty(); ++r) {
    const std::size_t at = rng() % text.size();
    switch (pick(rng)) {
      case 0:  // torn write
        text.resize(at);
        break;
      case 1:  // flipped bits
        text[at] = static_cast<char>(text[at] ^ (1 << (rng() % 8)));
        break;
      case 2: {  // a garbage line
        static const char* garbage[] = {"\x00\xff\xfe garbage", "{\"seq\":", "]]]]", "{\"type\":\"error\",\"payload\":7}",
                                        "NaN", "\xef\xbb\xbf{}", "{\"seq\":1e999,\"span_id\":\"x\",\"parent_id\":\"x\"}",
                                        "{\"type\":\"state_change\",\"payload\":{\"name\":\"span_end\"}}"};
        const std::string line = garbage[rng() % (sizeof garbage / sizeof *garbage)];
        const std::size_t nl = text.find('\n', at);
        text.insert(nl == std::string::npos ? text.size() : nl + 1, line + "\n");
        break;
      }
      case 3:  // a byte removed
        text.erase(at, 1);
        break;
      case 4:  // a random byte inserted
        text.insert(at, 1, static_cast<char>(rng() & 0xFF));
        break;
      default: {  // a line duplicated
        const std::size_t b = text.rfind('\n', at);
        const std::size_t e = text.find('\n', at);
        const std::size_t from = b == std::string::npos ? 0 : b + 1;
        const std::size_t to = e == std::string::npos ? text.size() : e;
        text.insert(to, "\n" + text.substr(from, to - from));
        break;
      }
    }
  }
  return text;
}

std::vector<std::string> seed_files() {
  std::vector<std::string> texts;
  std::vector<SpoolFile> files;
  list_jsonl(kSpoolDir, files);
  for (const auto& f : files) texts.push_back(read_text(f.path));
  return texts;
}

}  // namespace

TEST_CASE("mutated spool files never crash the analysis library", "[analysis][fuzz]") {
  const auto seeds = seed_files();
  REQUIRE(seeds.size() >= 6);
  std::mt19937 rng(20261121);
  for (int i = 0; i < 3000; ++i) {
    const std::string text = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
    const Session s = parse_jsonl(text, "fuzz");
    std::size_t newlines = 0;
    for (char c : text) newlines += c == '\n';
    const std::size_t expected_lines = newlines + (!text.empty() && text.back() != '\n' ? 1 : 0);
    // Every line is an event, blank or malformed.
    REQUIRE(s.stats.lines == expected_lines);
    REQUIRE(s.events.size() + s.stats.blank + s.stats.malformed == s.stats.lines);
    const std::string flat = render_flat(s.events);
    CHECK_FALSE(flat.empty());
    render_tree(build_trace_forest(s.events));
    const Fingerprint fp = fingerprint_v1(s.events);
    CHECK(fp.is_failure == !fp.fingerprint.empty());
    diff_sessions(s.events, parse_jsonl(seeds[0], "seed").events);
    export_document("fuzz", s);
    replay_tree_json(s).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
}

TEST_CASE("mutated spool files never crash the CLI", "[analysis][fuzz][cli]") {
  const auto seeds = seed_files();
  REQUIRE_FALSE(seeds.empty());
  promptetheus::test::TempDir dir;
  std::mt19937 rng(77);
  for (int i = 0; i < 6; ++i) {
    const std::string path = dir.path() + "/fuzz" + std::to_string(i) + ".jsonl";
    std::ofstream(path, std::ios::binary) << mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
  }
  const std::vector<std::vector<std::string>> commands = {
      {"sessions", "--dir", "."},         {"spool", "list", "--dir", "."},
      {"replay", "fuzz0", "--dir", "."},  {"replay", "fuzz1", "--dir", ".", "--tree"},
      {"fingerprint", "fuzz2", "--dir", "."}, {"diff", "fuzz3", "fuzz4", "--dir", "."},
      {"export", "fuzz5", "--dir", "."},  {"replay", "fuzz0", "--dir", ".", "--json"},
  };
  for (const auto& args : commands) {
    const auto r = promptetheus::test::run_process(PROMPTETHEUS_CLI_PATH, args, dir.path());
    INFO(args[0] << " stderr: " << r.err);
    CHECK(r.signal == 0);
    CHECK((r.exit_code == 0 || r.exit_code == 2));
  }
}
