// Every case of ../shared/conformance/public/cases.json as its own test: the CLI, run in a
// temporary copy of public/, must print the reference's exact stdout and exit code (commands
// whose default output is readable are given `--format reference`).
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conformance/subprocess.hpp"

namespace {

using promptetheus::test::run_process;
using promptetheus::test::TempDir;

const std::string kPublicDir = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public";

struct ConformanceCase {
  std::vector<std::string> args;
  std::string stdout_text;
  int rc = 0;
};

std::vector<ConformanceCase> load_cases() {
  std::vector<ConformanceCase> cases;
  std::ifstream in(kPublicDir + "/cases.json");
  const auto doc = nlohmann::json::parse(in, nullptr, false);
  if (!doc.is_array()) return cases;
  for (const auto& c : doc) {
    ConformanceCase cc;
    for (const auto& a : c.at("args")) cc.args.push_back(a.get<std::string>());
    cc.stdout_text = c.at("stdout").get<std::string>();
    cc.rc = c.at("rc").get<int>();
    cases.push_back(std::move(cc));
  }
  return cases;
}

const std::vector<ConformanceCase>& all_cases() {
  static const std::vector<ConformanceCase> cases = load_cases();
  return cases;
}

std::string test_name(std::size_t index, const ConformanceCase& c) {
  std::ostringstream name;
  name << "cli conformance " << (index < 9 ? "0" : "") << index + 1 << ":";
  for (const auto& a : c.args) name << ' ' << a;
  std::string s = name.str();
  // Catch test specs treat [ ] , * \ " specially; keep names plain.
  for (char& ch : s) {
    if (ch == '[' || ch == ']' || ch == ',' || ch == '*' || ch == '\\' || ch == '"' || ch == '~') ch = '_';
  }
  return s;
}

// The commands whose default text explains more than the reference CLI's: the cases run them
// with `--format reference` placed after the subcommand, which gives the reference's bytes.
std::vector<std::string> reference_args(const std::vector<std::string>& args) {
  static const std::vector<std::string> kReadableByDefault{"sessions", "replay", "diff"};
  std::vector<std::string> out = args;
  if (!out.empty() &&
      std::find(kReadableByDefault.begin(), kReadableByDefault.end(), out[0]) != kReadableByDefault.end()) {
    out.insert(out.begin() + 1, {"--format", "reference"});
  }
  return out;
}

void run_case(std::size_t index) {
  const ConformanceCase& c = all_cases().at(index);
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  const auto copy = run_process("/bin/cp", {"-r", kPublicDir + "/.", dir.path()}, "");
  REQUIRE(copy.exit_code == 0);
  run_process("/bin/chmod", {"-R", "u+w", dir.path()}, "");
  const auto result = run_process(PROMPTETHEUS_CLI_PATH, reference_args(c.args), dir.path());
  INFO("stderr: " << result.err);
  CHECK(result.signal == 0);
  CHECK(result.out == c.stdout_text);
  CHECK(result.exit_code == c.rc);
}

class CaseInvoker : public Catch::ITestInvoker {
 public:
  explicit CaseInvoker(std::size_t index) : index_(index) {}
  void invoke() const override { run_case(index_); }

 private:
  std::size_t index_;
};

// One registered test per case, so ctest shows each case as its own pass or failure.
const bool registered = [] {
  static std::deque<std::string> names;  // Catch keeps references to the names
  for (std::size_t i = 0; i < all_cases().size(); ++i) {
    names.push_back(test_name(i, all_cases()[i]));
    Catch::AutoReg(new CaseInvoker(i), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                   Catch::NameAndTags{Catch::StringRef(names.back()), "[conformance][cli]"});
  }
  return true;
}();

}  // namespace

TEST_CASE("the public conformance cases are present", "[conformance]") {
  REQUIRE(all_cases().size() >= 39);
}
