// Artifact uploads (spec §5.1): JSON metadata, raw bytes stored under the data dir, filename
// sanitising, and the 413/415 rules.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "dev/artifact_paths.hpp"
#include "dev_server_fixture.hpp"

using nlohmann::json;
using promptetheus::devserver::safe_path_segment;
using promptetheus::devserver::sanitize_artifact_filename;
using promptetheus::testing::DevServerFixture;

namespace {

struct Reply {
  int status;
  json body;
};

Reply upload(DevServerFixture& server, const std::string& session, const std::string& body,
             const std::string& content_type, httplib::Headers headers = {}) {
  headers.emplace("Authorization", "Bearer pt_dev_key");
  auto res = server.client().Post(
      "/api/traces/" + DevServerFixture::encode_segment(session) + "/artifacts", headers, body,
      content_type);
  REQUIRE(res);
  INFO(res->body);
  return Reply{res->status, json::parse(res->body)};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

TEST_CASE("artifact filenames are sanitised like the reference server") {
  CHECK(sanitize_artifact_filename("../nested/step one.png") == "step_one.png");
  CHECK(sanitize_artifact_filename("..") == "artifact.bin");
  CHECK(sanitize_artifact_filename(".") == "artifact.bin");
  CHECK(sanitize_artifact_filename("") == "artifact.bin");
  CHECK(sanitize_artifact_filename("dir/") == "dir");  // the last path component, as pathlib takes it
  CHECK(sanitize_artifact_filename("x/ padded.png ") == "_padded.png");  // stripped first
  CHECK(sanitize_artifact_filename("step\u2014\U0001F600\u00fc.png") == "step__\u00fc.png");  // isalnum per code point
  CHECK(sanitize_artifact_filename("\xff\xfe.png") == "__.png");
  CHECK(sanitize_artifact_filename("C:\\Users\\me\\shot 1.png") == "shot_1.png");
  CHECK(sanitize_artifact_filename("a$b%c&d.webm") == "a_b_c_d.webm");
  CHECK(sanitize_artifact_filename("caf\xc3\xa9_2-v.1.jpg") == "caf\xc3\xa9_2-v.1.jpg");
  CHECK(sanitize_artifact_filename(std::string("nul\0byte", 8)) == "nul_byte");
  CHECK(sanitize_artifact_filename(std::string(300, 'x')).size() == 200);
  CHECK(safe_path_segment("01M7ZXHNVH2DNQWAR7C5Q4VEFW") == "01M7ZXHNVH2DNQWAR7C5Q4VEFW");
  CHECK(safe_path_segment("sess_1") == "sess_1");
  CHECK(safe_path_segment("..") == "%2E%2E");
  CHECK(safe_path_segment("../x?y#") == "%2E%2E%2Fx%3Fy%23");
}

TEST_CASE("artifacts: JSON metadata is recorded without bytes") {
  DevServerFixture server;
  REQUIRE(server.create_trace("sid") == 201);
  Reply ok = upload(server, "sid",
                    json{{"content_type", "image/png"}, {"size_bytes", 1024}, {"filename", "ok.png"},
                         {"artifact_type", "screenshot"}}
                        .dump(),
                    "application/json");
  REQUIRE(ok.status == 201);
  const json& artifact = ok.body["artifact"];
  CHECK(artifact["session_id"] == "sid");
  CHECK(artifact["workspace_id"] == "ws_dev");
  CHECK(artifact["project_id"] == "proj_dev");
  CHECK(artifact["content_type"] == "image/png");
  CHECK(artifact["size_bytes"] == 1024);
  CHECK(artifact["filename"] == "ok.png");
  CHECK(artifact["artifact_type"] == "screenshot");
  CHECK(artifact["artifact_id"] == "artifact_1");
  CHECK(artifact["storage_path"] == "artifacts/ws_dev/sid/artifact_1/ok.png");
  CHECK_FALSE(std::filesystem::exists(server.data_dir() / "artifacts/ws_dev/sid/artifact_1/ok.png"));

  Reply named = upload(server, "sid",
                       json{{"content_type", "video/webm"}, {"size_bytes", 0},
                            {"filename", "../rec.webm"}, {"artifact_id", "mine"}}
                           .dump(),
                       "application/json");
  REQUIRE(named.status == 201);
  CHECK(named.body["artifact"]["storage_path"] == "artifacts/ws_dev/sid/mine/rec.webm");
  CHECK(named.body["artifact"]["artifact_type"].is_null());
}

TEST_CASE("artifacts: content types other than webm, png and jpeg are 415, bad sizes are 413") {
  DevServerFixture server;
  REQUIRE(server.create_trace("sid") == 201);
  Reply text = upload(server, "sid",
                      json{{"content_type", "text/plain"}, {"size_bytes", 3}, {"filename", "a.txt"}}.dump(),
                      "application/json");
  CHECK(text.status == 415);
  CHECK(text.body["detail"] == "unsupported artifact content-type: 'text/plain'");
  for (const json& size : {json(std::int64_t{10} << 30), json(-1), json(true), json(1.5), json("3"),
                           json(52428801)}) {
    Reply bad = upload(server, "sid",
                       json{{"content_type", "image/png"}, {"size_bytes", size}, {"filename", "a.png"}}.dump(),
                       "application/json");
    INFO(size.dump());
    CHECK(bad.status == 413);
  }
  Reply max = upload(server, "sid",
                     json{{"content_type", "image/jpeg"}, {"size_bytes", 52428800}, {"filename", "a.jpg"}}.dump(),
                     "application/json");
  CHECK(max.status == 201);

  Reply raw_text = upload(server, "sid", "abc", "text/plain", {{"X-Promptetheus-Filename", "a.txt"}});
  CHECK(raw_text.status == 415);
  CHECK(raw_text.body["detail"] == "unsupported artifact content-type: 'text/plain'");
}

TEST_CASE("artifacts: raw bytes are stored under the data dir with a sanitised name") {
  DevServerFixture server;
  REQUIRE(server.create_trace("sid") == 201);
  Reply ok = upload(server, "sid", std::string("\x89PN", 3), "image/png",
                    {{"X-Promptetheus-Filename", "../step one.png"},
                     {"X-Promptetheus-Artifact-Type", "screenshot"},
                     {"X-Promptetheus-Size-Bytes", "999"}});
  REQUIRE(ok.status == 201);
  const json& artifact = ok.body["artifact"];
  CHECK(artifact["size_bytes"] == 3);  // from the body, never from the header
  CHECK(artifact["filename"] == "step_one.png");
  CHECK(artifact["artifact_type"] == "screenshot");
  const std::string path = artifact["storage_path"];
  CHECK(path == "artifacts/ws_dev/sid/artifact_1/step_one.png");
  CHECK(read_file(server.data_dir() / path) == std::string("\x89PN", 3));
  // Private, like the SDK's own artifacts: 0600 in 0700 directories.
  struct stat st {};
  REQUIRE(::stat((server.data_dir() / path).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((server.data_dir() / path).parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  Reply with_id = upload(server, "sid", "webm", "video/webm",
                         {{"X-Promptetheus-Filename", "artifact.webm"},
                          {"X-Promptetheus-Artifact-Id", "../escape"}});
  REQUIRE(with_id.status == 201);
  CHECK(with_id.body["artifact"]["artifact_id"] == "../escape");
  CHECK(with_id.body["artifact"]["storage_path"] ==
        "artifacts/ws_dev/sid/%2E%2E%2Fescape/artifact.webm");
  CHECK(read_file(server.data_dir() / "artifacts/ws_dev/sid/%2E%2E%2Fescape/artifact.webm") == "webm");
}

TEST_CASE("artifacts: a hostile session id stays inside the data dir") {
  DevServerFixture server;
  const std::string id = "../../outside";
  REQUIRE(server.create_trace(id) == 201);
  Reply ok = upload(server, id, "png", "image/png", {{"X-Promptetheus-Filename", "x.png"}});
  REQUIRE(ok.status == 201);
  CHECK(ok.body["artifact"]["session_id"] == id);
  const std::string path = ok.body["artifact"]["storage_path"];
  CHECK(path == "artifacts/ws_dev/%2E%2E%2F%2E%2E%2Foutside/artifact_1/x.png");
  CHECK(read_file(server.data_dir() / path) == "png");
  CHECK_FALSE(std::filesystem::exists(server.data_dir().parent_path() / "outside"));
}

TEST_CASE("artifacts: raw bodies over the maximum are 413, unknown traces are 404") {
  DevServerFixture server([](auto& options) { options.max_artifact_bytes = 1024; });
  REQUIRE(server.create_trace("sid") == 201);
  Reply big = upload(server, "sid", std::string(1025, 'x'), "image/png");
  CHECK(big.status == 413);
  CHECK(upload(server, "sid", std::string(1024, 'x'), "image/png").status == 201);
  Reply missing = upload(server, "nope", "x", "image/png");
  CHECK(missing.status == 404);
  CHECK(missing.body["detail"] == "trace not found");
}

TEST_CASE("artifacts: JSON metadata is recognised as the reference server does") {
  DevServerFixture server;
  REQUIRE(server.create_trace("sid") == 201);
  const std::string metadata =
      json{{"content_type", "image/png"}, {"size_bytes", 10}, {"filename", "m.png"}}.dump();
  // application/json, with parameters too: metadata.
  CHECK(upload(server, "sid", metadata, "application/json; charset=utf-8").status == 201);
  // text/json is not JSON metadata: it is an artifact of that (unsupported) type.
  const Reply text_json = upload(server, "sid", metadata, "text/json");
  CHECK(text_json.status == 415);
  CHECK(text_json.body == json{{"detail", "unsupported artifact content-type: 'text/json'"}});
  // No Content-Type at all: metadata.
  const std::string response = promptetheus::testing::raw_http(
      server.port(), "POST /api/traces/sid/artifacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pt_dev_key\r\n"
                     "Content-Length: " + std::to_string(metadata.size()) + "\r\nConnection: close\r\n\r\n" + metadata);
  CHECK(response.rfind("HTTP/1.1 201", 0) == 0);
  CHECK(response.find(R"("filename":"m.png")") != std::string::npos);
}
