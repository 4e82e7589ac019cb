// Redaction over HTTP, end to end: a session whose every field carries planted secrets, recorded
// with PROMPTETHEUS_REDACT's default redactor, leaves none of them in any request body (gzip or
// not), in what the dev server stores, in the spool or in dead-letter files; and a spool written
// by an older run without redaction is redacted when it is replayed to the server.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <promptetheus/promptetheus.hpp>

#include "dev_server_fixture.hpp"
#include "fault_proxy.hpp"
#include "support/planted_secrets.hpp"
#include "unit/sdk_test_support.hpp"

namespace pt = promptetheus;
namespace fs = std::filesystem;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::Fault;
using promptetheus::testing::FaultServer;
using promptetheus::testing::RecordedRequest;

namespace {

pt::Options redacting_http(const std::string& url, const fs::path& dir) {
  pt::Options options;
  options.transport = pt::TransportMode::http;
  options.api_url = url;
  options.api_key = "pt_dev_key";
  options.spool_dir = (dir / "spool").string();
  options.artifact_dir = (dir / "artifacts").string();
  options.flush_interval = std::chrono::milliseconds(50);
  options.flush_at_exit = false;
  options.redact = "default";
  return options;
}

void check_no_secret(const std::string& where, const std::string& text) {
  for (const auto& secret : planted::kSecrets) {
    INFO(where << " must not contain " << secret);
    CHECK(text.find(secret) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("redaction over HTTP: no planted secret in any request body, gzip or not, nor in dead letters",
          "[e2e][http][redaction]") {
  for (const std::size_t compress_min_bytes : {std::size_t(0), std::size_t(1)}) {
    DYNAMIC_SECTION("compress_min_bytes " << compress_min_bytes) {
      FaultServer server;
      // The second session's events are rejected (422): they go to dead-letter files.
      server.set_fault([](const RecordedRequest& r) -> std::optional<Fault> {
        if (r.method == "POST" && r.body.find("sess-redact-rejected") != std::string::npos &&
            r.target.find("/events") != std::string::npos) {
          return Fault::status_code(422);
        }
        return std::nullopt;
      });
      sdk_test::TempDir dir;
      pt::Options options = redacting_http(server.base_url(), dir.path);
      options.compress_min_bytes = compress_min_bytes;
      {
        pt::Client client(options);
        REQUIRE(client.status().ok());
        planted::record_secret_session(sdk_test::session_on(client, "sess-redact-http"));
        planted::record_secret_session(sdk_test::session_on(client, "sess-redact-rejected"));
        REQUIRE(client.shutdown(std::chrono::seconds(20)));
        const auto stats = client.stats();
        CHECK(stats.delivered == planted::kSecretSessionEvents);
        CHECK(stats.dead_lettered == planted::kSecretSessionEvents);
        CHECK(stats.redacted > 0);
        CHECK(stats.redaction_failed == 0);
      }
      std::size_t gzipped = 0;
      for (const auto& request : server.requests()) {
        check_no_secret("request body " + request.target, request.body);
        check_no_secret("raw request body " + request.target, request.raw_body);
        gzipped += request.header("content-encoding") == "gzip" ? 1 : 0;
      }
      CHECK((gzipped > 0) == (compress_min_bytes == 1));
      const auto stored = server.stored_events("sess-redact-http");
      REQUIRE(stored.size() == planted::kSecretSessionEvents);
      CHECK(stored[8]["payload"]["input_tokens"] == 1200);  // token counts survive
      for (const auto& [id, body] : server.trace_bodies()) check_no_secret("trace body " + id, body.dump());
      const auto files = planted::files_under(dir.path);
      bool dead_letter_seen = false;
      for (const auto& [path, content] : files) {
        check_no_secret(path, content);
        dead_letter_seen |= path.find("dead-letter") != std::string::npos && !content.empty();
      }
      CHECK(dead_letter_seen);
    }
  }
}

TEST_CASE("redaction over HTTP to the dev server: what it stores holds no planted secret, and a spool "
          "an older run wrote without redaction is redacted when replayed",
          "[e2e][http][redaction]") {
  DevServerFixture server;
  sdk_test::TempDir dir;
  pt::Options options = redacting_http(server.base_url(), dir.path);
  {
    // An older run: no redaction, and a server it cannot reach, so everything stays spooled.
    pt::Options old_run = options;
    old_run.redact.clear();
    old_run.api_url = "http://127.0.0.1:9";
    old_run.max_retries = 0;
    pt::Client client(old_run);
    planted::record_secret_session(sdk_test::session_on(client, "sess-redact-old"));
    REQUIRE(client.shutdown(std::chrono::seconds(10)));
  }
  std::string old_spool;
  for (const auto& [path, content] : planted::files_under(dir.path / "spool")) old_spool += content;
  REQUIRE(old_spool.find("sk-live0123456789abcdefXYZ") != std::string::npos);

  {
    pt::Client client(options);  // replays the old run's spool, redacted, then records its own
    REQUIRE(client.status().ok());
    planted::record_secret_session(sdk_test::session_on(client, "sess-redact-dev"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto old = server.events("sess-redact-old");
      if (old && old->size() == planted::kSecretSessionEvents) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(client.shutdown(std::chrono::seconds(20)));
  }
  for (const std::string id : {"sess-redact-old", "sess-redact-dev"}) {
    const auto events = server.events(id);
    REQUIRE(events);
    CHECK(events->size() == planted::kSecretSessionEvents);
    check_no_secret("stored events of " + id, nlohmann::json(*events).dump());
    const auto trace = server.trace(id);
    REQUIRE(trace);
    check_no_secret("stored trace of " + id, trace->dump());
  }
  for (const auto& [path, content] : planted::files_under(server.data_dir())) check_no_secret(path, content);
  for (const auto& [path, content] : planted::files_under(dir.path)) check_no_secret(path, content);
}
