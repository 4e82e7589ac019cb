// `spool replay` and `import` against the embedded dev server (started as `promptetheus dev`):
// sessions recorded with the local spool are delivered (their traces are created first), and
// failures are reported with a non-zero exit code instead of as success.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "conformance/dev_server_process.hpp"
#include "conformance/subprocess.hpp"

namespace {

using promptetheus::test::DevServer;
using promptetheus::test::free_port;
using promptetheus::test::run_process;
using promptetheus::test::TempDir;

const std::string kPublicDir = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public";

}  // namespace

TEST_CASE("spool replay delivers locally spooled sessions and reports failures", "[cli][delivery]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicDir + "/spool", work.path() + "/spool"}, "").exit_code == 0);
  run_process("/bin/chmod", {"-R", "u+w", work.path()}, "");
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());

  SECTION("no api key") {
    const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "replay", "--dir", "spool"}, work.path(),
                               {"PROMPTETHEUS_API_KEY=", "HOME=" + work.path()});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "Cannot replay: no api_key configured (set PROMPTETHEUS_API_KEY).\n");
  }
  SECTION("a rejected key leaves everything pending and exits 1") {
    const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "replay", "--dir", "spool"}, work.path(),
                               {"PROMPTETHEUS_API_KEY=wrong", "PROMPTETHEUS_API_URL=" + server.url()});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "Replayed 0 event(s) to " + server.url() + "; 74 still pending.\n");
  }
  SECTION("every event is delivered and the spool is emptied") {
    const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "replay", "--dir", "spool"}, work.path(),
                               {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Replayed 74 event(s) to " + server.url() + "; 0 still pending.\n");
    const auto list = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "list", "--dir", "spool"}, work.path());
    CHECK(list.out.find("pending : 0 event(s) across 0 session file(s)") != std::string::npos);
    CHECK(list.out.find("dead    : 0 event(s)") != std::string::npos);
    const auto again = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "replay", "--dir", "spool"}, work.path(),
                                   {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url()});
    CHECK(again.out == "No pending spool events to replay.\n");
  }
}

TEST_CASE("import uploads an exported session and reports what was not delivered", "[cli][delivery]") {
  TempDir work;
  const auto exported = run_process(PROMPTETHEUS_CLI_PATH,
                                    {"export", "browser", "--dir", kPublicDir + "/spool", "--out", "b.json"}, work.path());
  REQUIRE(exported.exit_code == 0);
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());

  const auto ok = run_process(PROMPTETHEUS_CLI_PATH, {"import", "b.json"}, work.path(),
                              {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url(),
                               "PROMPTETHEUS_SPOOL_DIR=" + work.path() + "/spool-ok"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "Imported 10 event(s) to " + server.url() + ".\n");

  const auto down = run_process(PROMPTETHEUS_CLI_PATH, {"import", "b.json"}, work.path(),
                                {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=http://127.0.0.1:9",
                                 "PROMPTETHEUS_SPOOL_DIR=" + work.path() + "/spool-down"});
  CHECK(down.exit_code == 1);
  CHECK(down.out.find("Imported 0 event(s)") == 0);
  CHECK(down.out.find("10 event(s) still pending") != std::string::npos);

  CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"import", "missing.json"}, work.path()).out == "No such file: missing.json\n");
}

TEST_CASE("import delivers its file only and leaves the spool's runs and outbox alone", "[cli][delivery]") {
  TempDir work;
  const auto exported = run_process(PROMPTETHEUS_CLI_PATH,
                                    {"export", "browser", "--dir", kPublicDir + "/spool", "--out", "b.json"}, work.path());
  REQUIRE(exported.exit_code == 0);
  // A spool with recorded runs (the public sessions) and a retry backlog in its outbox.
  REQUIRE(run_process("/bin/cp", {"-r", kPublicDir + "/spool", work.path() + "/spool"}, "").exit_code == 0);
  run_process("/bin/chmod", {"-R", "u+w", work.path()}, "");
  REQUIRE(run_process("/bin/mkdir", {work.path() + "/spool/outbox"}, "").exit_code == 0);
  REQUIRE(run_process("/bin/mv", {work.path() + "/spool/errors.jsonl", work.path() + "/spool/outbox/"}, "").exit_code == 0);
  const auto before = run_process("/bin/ls", {"-lR", "spool"}, work.path()).out;
  REQUIRE(before.find("errors.jsonl") != std::string::npos);
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());

  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"import", "b.json"}, work.path(),
                             {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url(),
                              "PROMPTETHEUS_SPOOL_DIR=" + work.path() + "/spool"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Imported 10 event(s) to " + server.url() + ".\n");
  // Nothing else was sent: every file is still there, the same size.
  CHECK(run_process("/bin/ls", {"-lR", "spool"}, work.path()).out == before);

  // The CLI reads the outbox with the recorded runs, and says which is which.
  const auto sessions = run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--format", "reference", "--dir", "spool"}, work.path()).out;
  CHECK(sessions.find("  browser: 10 event(s)\n") != std::string::npos);
  CHECK(sessions.find("  errors: ") != std::string::npos);
  CHECK(sessions.find(" event(s) (outbox: not yet delivered)\n") != std::string::npos);
  const auto list = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "list", "--dir", "spool"}, work.path()).out;
  CHECK(list.find("    outbox/errors.jsonl: ") != std::string::npos);
  CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"replay", "errors", "--dir", "spool"}, work.path()).exit_code == 0);
}

TEST_CASE("a spool line that is not an event is moved to the dead letter, never deleted, and reported",
          "[cli][delivery]") {
  TempDir work;
  const std::string goal_check =
      R"({"idempotency_key":"g:0:1","payload":{"mismatches":["booked Wednesday"],"passed":false},"seq":1,)"
      R"("session_id":"g","timestamp":"2026-11-21T20:53:34.809825Z","type":"goal_check"})";
  const std::string session_end =
      R"({"idempotency_key":"g:0:2","payload":{"status":"completed"},"seq":2,"session_id":"g",)"
      R"("timestamp":"2026-11-21T20:53:35.809825Z","type":"session_end"})";
  const std::string corrupt = goal_check.substr(0, goal_check.size() - 1);  // the last brace lost
  REQUIRE(run_process("/bin/mkdir", {"-p", work.path() + "/spool"}, "").exit_code == 0);
  {
    std::FILE* f = std::fopen((work.path() + "/spool/g.jsonl").c_str(), "w");
    REQUIRE(f);
    std::fputs((corrupt + "\n" + session_end + "\n").c_str(), f);
    std::fclose(f);
  }

  // Reading it: the result itself says a line is missing (it held the failed goal check).
  const auto fp = run_process(PROMPTETHEUS_CLI_PATH, {"fingerprint", "g", "--dir", "spool"}, work.path());
  CHECK(fp.out ==
        "warning: skipped 1 malformed line(s) in spool/g.jsonl; the result below does not include them.\n"
        "No failure detected in this session.\n");
  const auto replay = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "g", "--dir", "spool"}, work.path());
  CHECK(replay.out.rfind("warning: skipped 1 malformed line(s) in spool/g.jsonl;", 0) == 0);

  // Sending it: the line is moved to the dead letter with its reason, and the command fails.
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "replay", "--dir", "spool"}, work.path(),
                             {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Replayed 1 event(s) to " + server.url() + "; 0 still pending.\n" +
                     "Moved 1 line(s) that are not events to spool/dead-letter (see their _reject_reason).\n");
  const auto dead = run_process("/bin/cat", {"spool/dead-letter/g.jsonl"}, work.path()).out;
  CHECK(dead.find(R"("_reject_reason":"malformed spool line: not a JSON object")") != std::string::npos);
  CHECK(dead.find(R"("_source_line":1)") != std::string::npos);
  CHECK(dead.find("booked Wednesday") != std::string::npos);  // the line's bytes, kept
}

TEST_CASE("spool purge keeps the dead letter, and with --dead-letter deletes it all: events, artifacts and OTLP requests",
          "[cli][delivery]") {
  TempDir work;
  const std::string spool = work.path() + "/spool";
  const auto write = [](const std::string& path, const std::string& text) {
    REQUIRE(run_process("/bin/mkdir", {"-p", path.substr(0, path.rfind('/'))}, "").exit_code == 0);
    std::ofstream(path, std::ios::binary) << text;
  };
  write(spool + "/run_a.jsonl", "{}\n");
  write(spool + "/dead-letter/run_b.jsonl", "{}\n");
  write(spool + "/dead-letter/artifacts/run_b/artifact_1/shot.png", std::string(64, 'p'));
  write(spool + "/dead-letter/artifacts/run_b/artifact_1/reason.json", "{}\n");
  write(spool + "/dead-letter/otlp/r1.json", "{}");
  write(spool + "/dead-letter/otlp/r1.json.reason", "http_400\n");

  const auto pending = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "purge", "--dir", "spool"}, work.path());
  CHECK(pending.exit_code == 0);
  CHECK(pending.out == "Purged 1 pending spool file(s) from spool.\n");
  CHECK(std::filesystem::exists(spool + "/dead-letter/artifacts/run_b/artifact_1/shot.png"));

  const auto all = run_process(PROMPTETHEUS_CLI_PATH, {"spool", "purge", "--dir", "spool", "--dead-letter"}, work.path());
  CHECK(all.exit_code == 0);
  CHECK(all.out == "Purged 5 spool + dead-letter file(s) from spool.\n");
  CHECK_FALSE(std::filesystem::exists(spool + "/dead-letter/run_b.jsonl"));
  CHECK_FALSE(std::filesystem::exists(spool + "/dead-letter/artifacts"));
  CHECK_FALSE(std::filesystem::exists(spool + "/dead-letter/otlp"));
  CHECK(std::filesystem::exists(spool + "/dead-letter"));
}

TEST_CASE("init works against the local dev server without a token, and says what it needs when none answers",
          "[cli][delivery]") {
  TempDir work;
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"init", "--api-url", server.url(), "--project-name", "Browser Agent"},
                             work.path(), {"HOME=" + work.path(), "PROMPTETHEUS_CONSOLE_TOKEN="});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Promptetheus project ready\n"
                 "  API URL  : " + server.url() + "\n"
                 "  workspace: Promptetheus Workspace\n"
                 "  project  : Browser Agent\n\n"
                 "Save this key; it is shown once:\n  pt_dev_key\n\n"
                 "For your shell:\n  export PROMPTETHEUS_API_KEY='pt_dev_key'\n"
                 "  export PROMPTETHEUS_API_URL='" + server.url() + "'\n");

  // Nothing listening: the reason, and what to do, never "failed (0)".
  const auto down = run_process(PROMPTETHEUS_CLI_PATH, {"init", "--api-url", "http://127.0.0.1:9"}, work.path(),
                                {"HOME=" + work.path(), "PROMPTETHEUS_CONSOLE_TOKEN="});
  CHECK(down.exit_code == 1);
  CHECK(down.out.rfind("Promptetheus bootstrap failed: could not reach http://127.0.0.1:9/api/onboarding/bootstrap: ", 0) == 0);
  CHECK(down.out.find("(0)") == std::string::npos);
  CHECK(down.out.find("promptetheus dev") != std::string::npos);
}

TEST_CASE("replay, diff and fingerprint read runs from a server, named or configured", "[cli][api]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicDir + "/spool", work.path() + "/spool"}, "").exit_code == 0);
  run_process("/bin/chmod", {"-R", "u+w", work.path()}, "");
  // What the local reading says, before the runs leave the spool.
  const auto local_replay = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "fail_exc", "--dir", "spool"}, work.path());
  const auto local_fp = run_process(PROMPTETHEUS_CLI_PATH, {"fingerprint", "fail_exc", "--dir", "spool"}, work.path());
  REQUIRE(local_replay.exit_code == 0);
  DevServer server(work.path() + "/dev");
  REQUIRE(server.ready());
  REQUIRE(run_process(PROMPTETHEUS_CLI_PATH, {"spool", "replay", "--dir", "spool"}, work.path(),
                      {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + server.url()})
              .exit_code == 0);
  TempDir elsewhere;  // no spool here: everything comes from the server

  // --api: that server, with the dev console token by default for a loopback URL.
  const auto replay = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "fail_exc", "--api", server.url()}, elsewhere.path());
  INFO(replay.err);
  CHECK(replay.exit_code == 0);
  CHECK(replay.out.find("tool_result calendar.search FAILED: TimeoutError") != std::string::npos);
  CHECK(replay.out.find("Status: failed: RuntimeError: agent selected the wrong day") != std::string::npos);
  // The same events give the same analysis (the server adds workspace and project ids only).
  const auto fp = run_process(PROMPTETHEUS_CLI_PATH, {"fingerprint", "fail_exc", "--api", server.url()}, elsewhere.path());
  CHECK(fp.exit_code == 0);
  CHECK(fp.out == local_fp.out);
  const auto diff = run_process(PROMPTETHEUS_CLI_PATH, {"diff", "pass_full", "fail_exc", "--api", server.url()},
                                elsewhere.path());
  CHECK(diff.exit_code == 2);
  CHECK(diff.out.find("! tool calendar.search passed before, now fails") != std::string::npos);
  CHECK(diff.out.find("Verdict: REGRESSED") != std::string::npos);

  // export --api: the document of the session as the server stores it.
  const auto exported = run_process(PROMPTETHEUS_CLI_PATH, {"export", "fail_exc", "--api", server.url()},
                                    elsewhere.path());
  CHECK(exported.exit_code == 0);
  const auto document = nlohmann::json::parse(exported.out);
  CHECK(document["session_id"] == "fail_exc");
  CHECK(document["events"].size() == 11);
  CHECK(document["events"][0]["workspace_id"] == "ws_dev");
  CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"export", "nope", "--api", server.url()}, elsewhere.path()).exit_code == 1);

  // The server's list: its sessions with their status (the record follows session_end).
  const auto listed = run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--api", server.url()}, elsewhere.path());
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.rfind("6 sessions at " + server.url() + ", newest first:", 0) == 0);
  CHECK(listed.out.find("failed  ") != std::string::npos);
  CHECK(listed.out.find("  fail_exc\n") != std::string::npos);

  // Not in the spool: the configured server is asked, and the note says so.
  const auto fallback = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "fail_exc", "--dir", "spool"}, elsewhere.path(),
                                    {"PROMPTETHEUS_API_URL=" + server.url()});
  CHECK(fallback.exit_code == 0);
  CHECK(fallback.out == replay.out);
  CHECK(fallback.err.find("read from " + server.url()) != std::string::npos);

  // Not found anywhere: the reference's message, exit 1, and where it looked.
  const auto missing = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "nope", "--dir", "spool"}, elsewhere.path(),
                                   {"PROMPTETHEUS_API_URL=" + server.url()});
  CHECK(missing.exit_code == 1);
  CHECK(missing.out == "Could not find a session or file for 'nope'.\n");
  CHECK(missing.err.find("looked in spool and at " + server.url()) != std::string::npos);
  const auto missing_api = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "nope", "--api", server.url()}, elsewhere.path());
  CHECK(missing_api.exit_code == 1);

  // A refused token and a server that is down are errors of their own (exit 3), said plainly.
  const auto refused = run_process(PROMPTETHEUS_CLI_PATH,
                                   {"replay", "fail_exc", "--api", server.url(), "--console-token", "wrong"},
                                   elsewhere.path());
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("HTTP 401: the console token was refused") != std::string::npos);
  const std::string down = "http://127.0.0.1:" + std::to_string(free_port());
  const auto unreachable = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "fail_exc", "--api", down}, elsewhere.path());
  CHECK(unreachable.exit_code == 3);
  CHECK(unreachable.err.find("could not read 'fail_exc' from " + down + ": no answer") != std::string::npos);
  CHECK(unreachable.out.empty());
}

TEST_CASE("a unique prefix of a session id selects it, an ambiguous one is not found", "[cli][api]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicDir + "/spool", work.path() + "/spool"}, "").exit_code == 0);
  const std::vector<std::string> no_server{"PROMPTETHEUS_API_URL=http://127.0.0.1:" + std::to_string(free_port())};
  const auto unique = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "--format", "reference", "fail", "--dir", "spool"},
                                  work.path(), no_server);
  const auto full = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "--format", "reference", "fail_exc", "--dir", "spool"},
                                work.path(), no_server);
  CHECK(unique.exit_code == 0);
  CHECK(unique.out == full.out);
  CHECK(unique.err.find("'fail' is session fail_exc") != std::string::npos);
  // Every command that takes an id takes a prefix: "errors" is the only id starting with "e".
  const auto prefix_fp = run_process(PROMPTETHEUS_CLI_PATH, {"fingerprint", "e", "--dir", "spool"}, work.path(), no_server);
  const auto full_fp = run_process(PROMPTETHEUS_CLI_PATH, {"fingerprint", "errors", "--dir", "spool"}, work.path(), no_server);
  CHECK(prefix_fp.exit_code == 0);
  CHECK(prefix_fp.out == full_fp.out);
  const auto prefix_export = run_process(PROMPTETHEUS_CLI_PATH, {"export", "e", "--dir", "spool"}, work.path(), no_server);
  const auto full_export = run_process(PROMPTETHEUS_CLI_PATH, {"export", "errors", "--dir", "spool"}, work.path(), no_server);
  CHECK(prefix_export.exit_code == 0);
  CHECK(prefix_export.out == full_export.out);
  TempDir dup;
  REQUIRE(run_process("/bin/mkdir", {dup.path() + "/spool"}, "").exit_code == 0);
  for (const char* name : {"abc1.jsonl", "abc2.jsonl"}) {
    REQUIRE(run_process("/bin/cp", {kPublicDir + "/spool/fail_exc.jsonl", dup.path() + "/spool/" + name}, "").exit_code == 0);
  }
  const auto both = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "abc", "--dir", "spool"}, dup.path(), no_server);
  CHECK(both.exit_code == 1);
  CHECK(both.out == "Could not find a session or file for 'abc'.\n");
  CHECK(both.err.find("'abc' starts 2 session ids (give more of the id)") != std::string::npos);
}

TEST_CASE("sessions lists start, status, events and agent, newest first, and failures groups them", "[cli][api]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicDir + "/spool", work.path() + "/spool"}, "").exit_code == 0);
  const auto list = run_process(PROMPTETHEUS_CLI_PATH, {"sessions", "--dir", "spool"}, work.path());
  CHECK(list.exit_code == 0);
  CHECK(list.out.rfind("6 sessions in spool, newest first:\n\n  STARTED ", 0) == 0);
  // Newest first, failed runs marked.
  const auto errors_at = list.out.find("  errors\n");
  const auto first_at = list.out.find("  01M7ZY5HYRM1V0VTVK888H6MQB\n");
  CHECK(errors_at != std::string::npos);
  CHECK(first_at != std::string::npos);
  CHECK(errors_at < first_at);
  CHECK(list.out.find("! 2026-11-21T20:53:34.809774Z  failed         11  calendar-agent  fail_exc\n") !=
        std::string::npos);

  const auto failures = run_process(PROMPTETHEUS_CLI_PATH, {"failures", "--dir", "spool"}, work.path());
  CHECK(failures.exit_code == 0);
  CHECK(failures.out.rfind("5 failures in 5 failed sessions of 6 sessions in spool\n", 0) == 0);
  CHECK(failures.out.find("    sessions: fail_exc\n") != std::string::npos);
  // A second run with the same failure joins its group.
  REQUIRE(run_process("/bin/cp", {"spool/fail_exc.jsonl", "spool/fail_again.jsonl"}, work.path()).exit_code == 0);
  const auto grouped = run_process(PROMPTETHEUS_CLI_PATH, {"failures", "--dir", "spool", "--json"}, work.path());
  CHECK(grouped.exit_code == 0);
  const auto doc = nlohmann::json::parse(grouped.out);
  CHECK(doc["sessions_read"] == 7);
  CHECK(doc["failed_sessions"] == 6);
  REQUIRE(doc["failures"].size() == 5);
  CHECK(doc["failures"][0]["count"] == 2);
  CHECK(doc["failures"][0]["sessions"] == nlohmann::json::array({"fail_again", "fail_exc"}));
  CHECK(doc["failures"][0]["agents"] == nlohmann::json::array({"calendar-agent"}));
}

TEST_CASE("replay and diff estimate costs with the configured price table", "[cli][api]") {
  TempDir work;
  REQUIRE(run_process("/bin/cp", {"-r", kPublicDir + "/spool", work.path() + "/spool"}, "").exit_code == 0);
  // pass_full's llm_call: gpt-4o-mini, 1,200 input and 300 output tokens.
  const auto by_default = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "pass_full", "--dir", "spool"}, work.path());
  CHECK(by_default.out.find("$0.000360") != std::string::npos);
  const auto priced = run_process(PROMPTETHEUS_CLI_PATH, {"replay", "pass_full", "--dir", "spool"}, work.path(),
                                  {"PROMPTETHEUS_PRICES=gpt-4o-mini=1:2"});
  CHECK(priced.exit_code == 0);
  CHECK(priced.out.find("1200 in / 300 out tokens, 850 ms, $1.8000") != std::string::npos);
  CHECK(priced.out.find("· $1.8000 ·") != std::string::npos);
  const auto diff = run_process(PROMPTETHEUS_CLI_PATH, {"diff", "pass_full", "fail_exc", "--dir", "spool"}, work.path(),
                                {"PROMPTETHEUS_PRICES=gpt-4o-mini=1:2"});
  CHECK(diff.out.find("~ estimated cost: $1.8000 -> $0.0000") != std::string::npos);
}
