// The policy through the CLI: what `promptetheus export` and `replay` print of a session recorded
// with redaction holds no planted secret, and `doctor` prints the policy in force.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "conformance/subprocess.hpp"
#include "promptetheus/promptetheus.hpp"
#include "support/planted_secrets.hpp"

namespace {

namespace pt = promptetheus;
using promptetheus::test::run_process;
using promptetheus::test::TempDir;

}  // namespace

TEST_CASE("export and replay of a session recorded with redaction hold no planted secret",
          "[conformance][cli][policy]") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  pt::Options options;
  options.transport = pt::TransportMode::spool;
  options.spool_dir = dir.path() + "/spool";
  options.artifact_dir = dir.path() + "/artifacts";
  options.redact = "default";
  options.flush_at_exit = false;
  {
    pt::Client client(options);
    pt::SessionOptions so;
    so.client = &client;
    so.session_id = "sess-cli-export";
    planted::record_secret_session(so);
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
  }
  const auto exported = run_process(PROMPTETHEUS_CLI_PATH, {"export", "sess-cli-export", "--dir", "spool"}, dir.path());
  REQUIRE(exported.exit_code == 0);
  REQUIRE(exported.out.find("\"events\"") != std::string::npos);
  const auto replayed = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "sess-cli-export", "--dir", "spool"}, dir.path());
  REQUIRE(replayed.exit_code == 0);
  for (const auto& secret : planted::kSecrets) {
    INFO(secret);
    CHECK(exported.out.find(secret) == std::string::npos);
    CHECK(replayed.out.find(secret) == std::string::npos);
  }
  CHECK(exported.out.find("[REDACTED]") != std::string::npos);
}

TEST_CASE("doctor prints the policy in force", "[conformance][cli][policy]") {
  TempDir home;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"doctor"}, home.path(),
                             {"HOME=" + home.path(), "PROMPTETHEUS_API_KEY=", "PROMPTETHEUS_REDACT=hash",
                              "PROMPTETHEUS_EVENT_SAMPLE_RATES=metric=0.5", "PROMPTETHEUS_TAIL_SAMPLE=1"});
  CHECK(r.out.find("  redact       : hash\n"
                   "  event rates  : metric=0.5 (session_end, error, goal_check, state_change always kept)\n"
                   "  tail sample  : on (") != std::string::npos);
  CHECK(r.out.find("  limits       : none\n"
                   "  redaction    : default redactor, hashing values (fails closed)\n") != std::string::npos);
}
