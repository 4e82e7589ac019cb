// Screenshots and recordings reach the server: with the HTTP transport the SDK uploads an
// artifact's bytes (POST /api/traces/{id}/artifacts, streamed from the file it kept) before the
// event that references it, retries from the spool after an outage (also across a restart), and
// moves a file the server refuses for good to the dead letter while the event is still delivered.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <promptetheus/promptetheus.hpp>

#include "dev_server_fixture.hpp"

namespace pt = promptetheus;
namespace fs = std::filesystem;
using nlohmann::json;
using promptetheus::testing::DevServerFixture;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() /
             ("promptetheus-artifacts-" + name + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::remove_all(dir);
  return dir;
}

pt::Options http_options(int port, const fs::path& dir) {
  pt::Options options;
  options.transport = pt::TransportMode::http;
  options.api_url = "http://127.0.0.1:" + std::to_string(port);
  options.api_key = "pt_dev_key";
  options.spool_dir = (dir / "spool").string();
  options.artifact_dir = (dir / "artifacts").string();
  options.flush_interval = std::chrono::milliseconds(20);
  options.flush_at_exit = false;
  return options;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> bytes(n);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

std::string as_string(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

// The stored events of `type` in `session`.
std::vector<json> events_of_type(DevServerFixture& server, const std::string& session, const std::string& type) {
  std::vector<json> out;
  for (const json& e : server.events(session).value_or(std::vector<json>{})) {
    if (e["type"] == type) out.push_back(e);
  }
  return out;
}

// The bytes the server serves for an artifact (the console's artifact route).
std::string served(DevServerFixture& server, const std::string& session, const std::string& artifact_id) {
  auto res = server.client().Get("/api/traces/" + session + "/artifacts/" + artifact_id,
                                 {{"Authorization", "Bearer " + server.console_token()}});
  REQUIRE(res);
  INFO(res->body.substr(0, 200));
  REQUIRE(res->status == 200);
  return res->body;
}

// Records session `id` with a client delivering to `port`: `record` adds the artifacts, the
// session ends, and the client flushes (up to 20 s) and is destroyed. Returns its stats.
template <typename Record>
pt::Stats record_session(int port, const fs::path& dir, const std::string& id, Record record) {
  pt::Client client(http_options(port, dir));
  pt::SessionOptions options;
  options.session_id = id;
  options.client = &client;
  pt::Session session(options);
  record(session);
  session.end();
  REQUIRE(client.flush(std::chrono::seconds(20)));
  return client.stats();
}

std::size_t regular_files_under(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) n += entry.is_regular_file() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("artifact upload: screenshots and recordings are stored byte-identical and served back", "[artifacts]") {
  DevServerFixture server;
  const fs::path dir = fresh_dir("upload");
  const auto png = random_bytes(300 * 1024, 1);
  const auto webm = random_bytes(2 * 1024 * 1024 + 17, 2);
  const fs::path recording = dir / "run.webm";
  fs::create_directories(dir);
  std::ofstream(recording, std::ios::binary).write(reinterpret_cast<const char*>(webm.data()),
                                                    static_cast<std::streamsize>(webm.size()));
  const pt::Stats stats = record_session(server.port(), dir, "art_upload", [&](pt::Session& session) {
    CHECK(session.screenshot(png));
    CHECK(session.replay_artifact(recording));
  });
  CHECK(stats.artifacts_uploaded == 2);
  CHECK(stats.artifacts_dead_lettered == 0);
  CHECK(stats.delivered == stats.enqueued);

  const auto shots = events_of_type(server, "art_upload", "screenshot");
  REQUIRE(shots.size() == 1);
  const json& shot = shots[0]["payload"];
  CHECK(shot["size_bytes"] == png.size());
  CHECK(shot["storage_path"].get<std::string>().rfind("artifacts/ws_dev/art_upload/", 0) == 0);
  CHECK_FALSE(shot.contains("upload_error"));
  CHECK(served(server, "art_upload", shot["artifact_id"]) == as_string(png));

  const auto recordings = events_of_type(server, "art_upload", "replay_artifact");
  REQUIRE(recordings.size() == 1);
  const json& rec = recordings[0]["payload"];
  CHECK(rec["storage_path"].get<std::string>().rfind("artifacts/ws_dev/art_upload/", 0) == 0);
  CHECK(served(server, "art_upload", rec["artifact_id"]) == as_string(webm));
  // The local copies were removed once their events, naming the server's copies, were delivered.
  CHECK(regular_files_under(dir / "artifacts") == 0);
  fs::remove_all(dir);
}

TEST_CASE("artifact upload: an artifact recorded during an outage is uploaded from the spool after a restart", "[artifacts]") {
  DevServerFixture server;
  const fs::path dir = fresh_dir("outage");
  const auto png = random_bytes(64 * 1024 + 3, 3);
  server.stop();  // connections are refused
  const pt::Stats offline = record_session(server.port(), dir, "art_outage",
                                           [&](pt::Session& session) { CHECK(session.screenshot(png)); });
  CHECK(offline.spooled == offline.enqueued);
  CHECK(offline.artifacts_uploaded == 0);
  // The bytes wait where the SDK kept them, the event in the outbox.
  CHECK(regular_files_under(dir / "artifacts") == 1);

  server.restart();
  pt::Client client(http_options(server.port(), dir));  // a new process would start the same way
  std::vector<json> shots;
  for (int i = 0; i < 400 && shots.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    shots = events_of_type(server, "art_outage", "screenshot");
  }
  REQUIRE(shots.size() == 1);
  const json& shot = shots[0]["payload"];
  CHECK(shot["storage_path"].get<std::string>().rfind("artifacts/ws_dev/art_outage/", 0) == 0);
  CHECK(served(server, "art_outage", shot["artifact_id"]) == as_string(png));
  // The local copy goes once the server has acknowledged the event. The server stores the event
  // before it answers, and a replay pass is short (flush_interval): under load the answer may come
  // after the pass's deadline, and then the batch is sent again, with the upload, in a later pass.
  for (int i = 0; i < 400 && regular_files_under(dir / "artifacts") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(regular_files_under(dir / "artifacts") == 0);
  CHECK(regular_files_under(dir / "spool" / "outbox") == 0);
  CHECK(client.stats().artifacts_uploaded >= 1);
  client.shutdown();
  // Uploading again replaced the server's copy under the same id; the event was stored once.
  CHECK(events_of_type(server, "art_outage", "screenshot").size() == 1);
  fs::remove_all(dir);
}

TEST_CASE("artifact upload: a file over the server's limit is dead-lettered with its reason and the event delivered", "[artifacts]") {
  DevServerFixture server([](promptetheus::devserver::DevServerOptions& options) { options.max_artifact_bytes = 4096; });
  const fs::path dir = fresh_dir("oversize");
  const auto small = random_bytes(1000, 4);
  const auto large = random_bytes(10000, 5);
  const pt::Stats stats = record_session(server.port(), dir, "art_large", [&](pt::Session& session) {
    CHECK(session.screenshot(large));
    CHECK(session.screenshot(small));
  });
  CHECK(stats.artifacts_uploaded == 1);
  CHECK(stats.artifacts_dead_lettered == 1);
  CHECK(stats.delivered == stats.enqueued);  // every event reached the server
  CHECK(stats.dead_lettered == 0);

  const auto shots = events_of_type(server, "art_large", "screenshot");
  REQUIRE(shots.size() == 2);
  const json& refused = shots[0]["payload"];
  CHECK(refused["upload_error"].get<std::string>().find("413") != std::string::npos);
  const fs::path kept = refused["storage_path"].get<std::string>();
  CHECK(kept.string().rfind((dir / "spool" / "dead-letter" / "artifacts").string(), 0) == 0);
  std::ifstream in(kept, std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == as_string(large));
  const json reason = json::parse(std::ifstream(kept.parent_path() / "reason.json"));
  CHECK(reason["artifact_id"] == refused["artifact_id"]);
  CHECK(reason["session_id"] == "art_large");
  CHECK(reason["reason"] == refused["upload_error"]);
  CHECK(served(server, "art_large", shots[1]["payload"]["artifact_id"]) == as_string(small));
  fs::remove_all(dir);
}
