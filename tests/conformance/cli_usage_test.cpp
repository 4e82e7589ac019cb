// What the CLI says about itself and about a command line it cannot run: `version` names the
// SDK's version and the reference version it matches; usage errors exit 64, list the valid
// commands and point at the right --help.
#include <catch2/catch.hpp>

#include <promptetheus/version.hpp>

#include "conformance/subprocess.hpp"

using promptetheus::test::run_process;

TEST_CASE("version prints the SDK's version, and the reference's output with --reference", "[cli][usage]") {
  const auto plain = run_process(PROMPTETHEUS_CLI_PATH, {"version"}, "/tmp");
  CHECK(plain.exit_code == 0);
  CHECK(plain.out == std::string("promptetheus-cpp ") + PROMPTETHEUS_VERSION_STRING +
                         "\ncompatible with the promptetheus reference CLI 2.0.1\n");
  const auto reference = run_process(PROMPTETHEUS_CLI_PATH, {"version", "--reference"}, "/tmp");
  CHECK(reference.exit_code == 0);
  CHECK(reference.out == "2.0.1\n");
}

TEST_CASE("usage errors exit 64, list the valid commands and name the subcommand's help", "[cli][usage]") {
  const auto unknown = run_process(PROMPTETHEUS_CLI_PATH, {"fingerprints"}, "/tmp");
  CHECK(unknown.exit_code == 64);
  CHECK(unknown.out.empty());
  CHECK(unknown.err.find("Valid commands: version sessions spool export import replay report diff fingerprint") !=
        std::string::npos);
  CHECK(unknown.err.find("Run 'promptetheus --help' for usage.") != std::string::npos);

  const auto missing = run_process(PROMPTETHEUS_CLI_PATH, {"diff", "only-one"}, "/tmp");
  CHECK(missing.exit_code == 64);  // not 2: that is diff's "regression found"
  CHECK(missing.err.find("Run 'promptetheus diff --help' for usage.") != std::string::npos);

  const auto group = run_process(PROMPTETHEUS_CLI_PATH, {"spool"}, "/tmp");
  CHECK(group.exit_code == 64);
  CHECK(group.err.find("Valid commands: list replay purge") != std::string::npos);
  CHECK(group.err.find("Run 'promptetheus spool --help' for usage.") != std::string::npos);

  const auto option = run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--bogus"}, "/tmp");
  CHECK(option.exit_code == 64);
  CHECK(option.err.find("Run 'promptetheus sessions --help' for usage.") != std::string::npos);
}
