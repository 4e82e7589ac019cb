// The CLI reads the same configuration as the SDK: the spool directory from
// PROMPTETHEUS_SPOOL_DIR or ~/.promptetheus/config.toml for every command that reads the spool,
// and a warning for keys of config.toml it does not know.
#include <catch2/catch.hpp>

#include <cstdio>

#include "conformance/subprocess.hpp"

namespace {

using promptetheus::test::run_process;
using promptetheus::test::TempDir;

const std::string kPublicSpool = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/spool";

void write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

}  // namespace

TEST_CASE("spool commands use the configured spool directory when --dir is not given", "[cli][config]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicSpool, work.path() + "/elsewhere"}, "").exit_code == 0);
  const std::string home = "HOME=" + work.path();

  SECTION("from PROMPTETHEUS_SPOOL_DIR") {
    const std::vector<std::string> env = {home, "PROMPTETHEUS_SPOOL_DIR=" + work.path() + "/elsewhere"};
    CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--format", "reference"}, work.path(), env).out.find("  errors: 9 event(s)\n") !=
          std::string::npos);
    CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"spool", "list"}, work.path(), env)
              .out.find("pending : 74 event(s) across 6 session file(s)") != std::string::npos);
    CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"replay", "errors"}, work.path(), env).exit_code == 0);
    CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"fingerprint", "errors"}, work.path(), env).exit_code == 0);
    CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"export", "errors"}, work.path(), env).exit_code == 0);
    // --dir still wins.
    CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--dir", "nowhere"}, work.path(), env).out ==
          "No spool directory at nowhere \u2014 no sessions.\n");
  }
  SECTION("from spool_dir in config.toml, with a warning for an unknown key") {
    REQUIRE(run_process("/bin/mkdir", {"-p", work.path() + "/.promptetheus"}, "").exit_code == 0);
    write_file(work.path() + "/.promptetheus/config.toml",
               "[promptetheus]\nspool_dir = \"" + work.path() + "/elsewhere\"\ncolour = \"blue\"\n");
    const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--format", "reference"}, work.path(), {home});
    CHECK(r.out.find("  errors: 9 event(s)\n") != std::string::npos);
    CHECK(r.err.find("unknown key 'colour'") != std::string::npos);
  }
}

TEST_CASE("doctor in spool mode reports recorded runs, checks the spool and exits 0 when healthy", "[cli][config]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicSpool, work.path() + "/spool"}, "").exit_code == 0);
  REQUIRE(run_process("/bin/mkdir", {"-p", work.path() + "/spool/outbox", work.path() + "/.promptetheus"}, "").exit_code == 0);
  REQUIRE(run_process("/bin/mv", {work.path() + "/spool/errors.jsonl", work.path() + "/spool/outbox/"}, "").exit_code == 0);
  write_file(work.path() + "/.promptetheus/config.toml", "colour = \"blue\"\n");
  const std::vector<std::string> env = {"HOME=" + work.path(), "PROMPTETHEUS_API_KEY=",
                                        "PROMPTETHEUS_SPOOL_DIR=" + work.path() + "/spool"};
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"doctor"}, work.path(), env);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("  recorded runs: 5 session file(s), 65 event(s)\n") != std::string::npos);
  CHECK(r.out.find("  outbox       : 9 event(s) waiting for delivery in 1 file(s); 0 dead-lettered\n") !=
        std::string::npos);
  CHECK(r.out.find("backlog") == std::string::npos);
  CHECK(r.out.find("Spool          : OK (") != std::string::npos);
  // Each warning once.
  const auto first = r.err.find("unknown key 'colour'");
  REQUIRE(first != std::string::npos);
  CHECK(r.err.find("unknown key 'colour'", first + 1) == std::string::npos);

  // A spool that cannot be created fails the check.
  write_file(work.path() + "/a-file", "x");
  const auto broken = run_process(PROMPTETHEUS_CLI_PATH, {"doctor"}, work.path(),
                                  {"HOME=" + work.path(), "PROMPTETHEUS_API_KEY=",
                                   "PROMPTETHEUS_SPOOL_DIR=" + work.path() + "/a-file/spool"});
  CHECK(broken.exit_code == 1);
  CHECK(broken.out.find("Spool          : NOT WRITABLE (") != std::string::npos);
}
