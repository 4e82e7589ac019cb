// The dev server's HTTP API (spec §5.1) over real HTTP on a loopback port: health, auth, traces,
// event ingestion semantics, reads and routing.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <limits>
#include <regex>

#include "dev_server_fixture.hpp"

using nlohmann::json;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::make_event;
using promptetheus::testing::raw_http;

namespace {

httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

json post_json(DevServerFixture& server, const std::string& path, const json& body, int expected) {
  auto res = server.client().Post(path, bearer(server.api_key()), body.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == expected);
  return json::parse(res->body);
}

std::string events_path(const std::string& id) {
  return "/api/traces/" + DevServerFixture::encode_segment(id) + "/events";
}

std::vector<std::int64_t> stored_seqs(DevServerFixture& server, const std::string& id) {
  std::vector<std::int64_t> seqs;
  const std::vector<json> events = server.events(id).value();
  for (const json& e : events) seqs.push_back(e["seq"].get<std::int64_t>());
  return seqs;
}

}  // namespace

TEST_CASE("dev server: GET /health needs no credential") {
  DevServerFixture server;
  auto res = server.client().Get("/health");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body) == json{{"status", "ok"}});
  CHECK(res->get_header_value("Content-Type") == "application/json");
}

TEST_CASE("dev server: authentication failures and accepted forms") {
  DevServerFixture server;
  const std::string body = json{{"user_goal", "g"}}.dump();
  const auto status_with = [&](const httplib::Headers& headers) {
    auto res = server.client().Post("/api/traces", headers, body, "application/json");
    REQUIRE(res);
    if (res->status == 401) CHECK(json::parse(res->body) == json{{"detail", "missing or invalid credential"}});
    if (res->status == 403) {
      CHECK(json::parse(res->body) == json{{"detail", "principal is not allowed for this endpoint"}});
    }
    return res->status;
  };
  CHECK(status_with({}) == 401);
  CHECK(status_with({{"Authorization", ""}}) == 401);
  CHECK(status_with({{"Authorization", "Bearer "}}) == 401);
  CHECK(status_with({{"Authorization", "Bearer wrong_key"}}) == 401);
  CHECK(status_with({{"Authorization", "Bearer pt_dev_ke"}}) == 401);
  CHECK(status_with({{"Authorization", "Bearer pt_dev_key2"}}) == 401);
  CHECK(status_with({{"Authorization", "Basic pt_dev_key"}}) == 401);  // wrong scheme
  CHECK(status_with({{"Authorization", "Token pt_dev_key"}}) == 401);
  CHECK(status_with({{"Authorization", "Bearer pt_server_token"}}) == 403);  // wrong principal

  CHECK(status_with({{"Authorization", "Bearer pt_dev_key"}}) == 201);
  CHECK(status_with({{"Authorization", "bearer pt_dev_key"}}) == 201);
  CHECK(status_with({{"Authorization", "BEARER   pt_dev_key  "}}) == 201);
  CHECK(status_with({{"Authorization", "pt_dev_key"}}) == 201);  // bare token
  CHECK(status_with({{"Authorization", "Bearer pt_console_token"}}) == 201);

  // Reading is a console feature: the project key gets 403, a missing key 401.
  auto res = server.client().Get("/api/traces", bearer(server.api_key()));
  REQUIRE(res);
  CHECK(res->status == 403);
  res = server.client().Get("/api/traces");
  REQUIRE(res);
  CHECK(res->status == 401);
  res = server.client().Get("/api/traces", bearer(server.console_token()));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body)["traces"].size() == 5);
}

TEST_CASE("dev server: configured API keys replace the default one") {
  DevServerFixture server([](auto& options) { options.credentials.api_keys = {"k1", "k2"}; });
  const auto status_with = [&](const std::string& key) {
    auto res = server.client().Post("/api/traces", bearer(key), "{}", "application/json");
    REQUIRE(res);
    return res->status;
  };
  CHECK(status_with("k1") == 201);
  CHECK(status_with("k2") == 201);
  CHECK(status_with("pt_dev_key") == 401);
}

TEST_CASE("dev server: create, mint and overwrite traces") {
  DevServerFixture server;
  json created = post_json(server, "/api/traces",
                           {{"id", "sess_http1"}, {"agent", "a1"}, {"user_goal", "g1"},
                            {"project_id", "proj_x"}, {"environment", "dev"},
                            {"metadata", {{"k", "v"}}}, {"tags", {"t"}}},
                           201);
  const json& trace = created["trace"];
  CHECK(trace["id"] == "sess_http1");
  CHECK(trace["agent"] == "a1");
  CHECK(trace["user_goal"] == "g1");
  CHECK(trace["environment"] == "dev");
  CHECK(trace["metadata"] == json{{"k", "v"}});
  CHECK(trace["tags"] == json{"t"});
  CHECK(trace["workspace_id"] == "ws_dev");
  CHECK(trace["project_id"] == "proj_dev");  // from the credential, never from the body
  CHECK(trace["status"] == "running");
  CHECK(std::regex_match(trace["started_at"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK_FALSE(trace.contains("source"));

  // Without an id the server mints sess_<n>.
  json first = post_json(server, "/api/traces", {{"user_goal", "x"}, {"source", "cli"}}, 201);
  json second = post_json(server, "/api/traces", {{"user_goal", "y"}}, 201);
  CHECK(first["trace"]["id"] == "sess_1");
  CHECK(first["trace"]["source"] == "cli");
  CHECK(second["trace"]["id"] == "sess_2");

  // Re-posting an id overwrites the row and keeps its events.
  post_json(server, events_path("sess_http1"), {{"events", {make_event("sess_http1", 0)}}}, 200);
  post_json(server, "/api/traces", {{"id", "sess_http1"}, {"user_goal", "g2"}}, 201);
  CHECK(server.trace("sess_http1").value()["user_goal"] == "g2");
  CHECK(server.trace("sess_http1").value()["agent"].is_null());
  CHECK(server.events("sess_http1").value().size() == 1);

  // Without metadata and tags they stay null; the console token's traces have no project.
  json bare = post_json(server, "/api/traces", {{"id", "bare"}, {"user_goal", "g"}}, 201)["trace"];
  CHECK(bare["metadata"].is_null());
  CHECK(bare["tags"].is_null());
  CHECK(bare["project_id"] == "proj_dev");
  auto by_console = server.client().Post("/api/traces", bearer(server.console_token()),
                                         json{{"id", "from-console"}, {"project_id", "proj_dev"}}.dump(),
                                         "application/json");
  REQUIRE(by_console);
  REQUIRE(by_console->status == 201);
  CHECK(json::parse(by_console->body)["trace"]["project_id"].is_null());
  CHECK(json::parse(by_console->body)["trace"]["workspace_id"] == "ws_dev");

  // Wrong field types are 422.
  auto res = server.client().Post("/api/traces", bearer(server.api_key()),
                                  json{{"user_goal", 5}}.dump(), "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(json::parse(res->body) == json{{"detail", "user_goal must be a string"}});
}

TEST_CASE("dev server: a mixed batch is accepted and rejected per event with exact reasons") {
  DevServerFixture server;
  REQUIRE(server.create_trace("s1") == 201);
  json invalid_type = make_event("s1", 5, "event_3");
  invalid_type["type"] = "not_real";
  json no_key = make_event("s1", 6);
  no_key.erase("idempotency_key");
  json bad_llm = make_event("s1", 7, "event_llm");
  bad_llm["type"] = "llm_call";
  bad_llm["payload"] = {{"model", "m"}, {"prompt", "raw"}};
  json batch = {{"events",
                 {make_event("s1", 2, "event_2"), invalid_type, make_event("s1", 1, "event_1"),
                  make_event("s1", 1, "event_conflict"), no_key, 42, bad_llm}}};
  json result = post_json(server, events_path("s1"), batch, 200);

  CHECK(result["accepted"] == 2);
  const json expected = json::array(
      {{{"index", 1}, {"idempotency_key", "event_3"}, {"reason", "unknown event type: 'not_real'"}},
       {{"index", 3},
        {"idempotency_key", "event_conflict"},
        {"reason", "seq 1 already recorded with a different idempotency_key"}},
       {{"index", 4},
        {"reason",
         "event missing required envelope field(s): idempotency_key"}},
       {{"index", 5}, {"reason", "event must be a mapping"}},
       {{"index", 6},
        {"idempotency_key", "event_llm"},
        {"reason", "llm_call payload must use prompt_ref/messages_ref, not raw prompt"}}});
  CHECK(result["rejected"] == expected);
  CHECK(stored_seqs(server, "s1") == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("dev server: the server rewrites session_id and adds the workspace and project") {
  DevServerFixture server;
  REQUIRE(server.create_trace("right") == 201);
  json event = make_event("wrong", 0);
  event["workspace_id"] = "ws_other";
  event["metadata"] = {{"kept", true}};
  post_json(server, events_path("right"), {{"events", {event}}}, 200);
  const json stored = server.events("right").value().at(0);
  CHECK(stored["session_id"] == "right");
  CHECK(stored["workspace_id"] == "ws_dev");
  CHECK(stored["project_id"] == "proj_dev");
  CHECK(stored["metadata"] == json{{"kept", true}});
  CHECK(stored["payload"] == event["payload"]);
  CHECK(stored["idempotency_key"] == event["idempotency_key"]);
}

TEST_CASE("dev server: duplicate idempotency keys are accepted and stored once") {
  DevServerFixture server;
  REQUIRE(server.create_trace("dup") == 201);
  json batch = {{"events", {make_event("dup", 0), make_event("dup", 1), make_event("dup", 1)}}};
  json first = post_json(server, events_path("dup"), batch, 200);
  CHECK(first == json{{"accepted", 3}, {"rejected", json::array()}});
  json again = post_json(server, events_path("dup"), batch, 200);  // a replay of the same batch
  CHECK(again == json{{"accepted", 3}, {"rejected", json::array()}});
  // Same key with another seq is still the same event (the key is checked first).
  json moved = make_event("dup", 9, "dup:test:0");
  CHECK(post_json(server, events_path("dup"), {{"events", {moved}}}, 200)["accepted"] == 1);
  CHECK(stored_seqs(server, "dup") == std::vector<std::int64_t>{0, 1});
}

TEST_CASE("dev server: unknown trace is 404 and a bare invalid event is 422") {
  DevServerFixture server;
  auto res = server.client().Post(events_path("missing"), bearer(server.api_key()),
                                  json{{"events", {make_event("missing", 0)}}}.dump(),
                                  "application/json");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body) == json{{"detail", "trace not found"}});

  REQUIRE(server.create_trace("bare") == 201);
  CHECK(post_json(server, events_path("bare"), make_event("bare", 0), 200) ==
        json{{"accepted", 1}, {"rejected", json::array()}});
  json invalid = make_event("bare", 1);
  invalid["seq"] = -1;
  CHECK(post_json(server, events_path("bare"), invalid, 422) ==
        json{{"detail", "event.seq must be >= 0"}});
  // "events" that is not a list is one event.
  CHECK(post_json(server, events_path("bare"), {{"events", make_event("bare", 2)}}, 200)["accepted"] ==
        1);
  CHECK(stored_seqs(server, "bare") == std::vector<std::int64_t>{0, 2});
}

TEST_CASE("dev server: malformed and non-object JSON bodies are 400") {
  DevServerFixture server;
  REQUIRE(server.create_trace("t") == 201);
  const auto post_raw = [&](const std::string& path, const std::string& body) {
    auto res = server.client().Post(path, bearer(server.api_key()), body, "application/json");
    REQUIRE(res);
    return std::make_pair(res->status, json::parse(res->body));
  };
  for (const std::string& path : {std::string("/api/traces"), events_path("t")}) {
    CHECK(post_raw(path, "{\"events\": [") ==
          std::make_pair(400, json{{"detail", "malformed JSON body"}}));
    CHECK(post_raw(path, "{\"seq\": NaN}") ==
          std::make_pair(400, json{{"detail", "malformed JSON body"}}));
    CHECK(post_raw(path, "\"\xff\"") == std::make_pair(400, json{{"detail", "malformed JSON body"}}));
    CHECK(post_raw(path, "[1, 2]") ==
          std::make_pair(400, json{{"detail", "request body must be a JSON object"}}));
    CHECK(post_raw(path, "null") ==
          std::make_pair(400, json{{"detail", "request body must be a JSON object"}}));
  }
}

TEST_CASE("dev server: a request without Content-Length has the body {}") {
  DevServerFixture server;
  REQUIRE(server.create_trace("t") == 201);
  // {} as the events body holds no event: nothing stored, as the reference server answers.
  std::string response = raw_http(server.port(),
                                  "POST /api/traces/t/events HTTP/1.1\r\nHost: x\r\n"
                                  "Authorization: Bearer pt_dev_key\r\nConnection: close\r\n\r\n");
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find(R"({"accepted":0,"rejected":[]})") != std::string::npos);
  CHECK(post_json(server, events_path("t"), json::object(), 200) == json{{"accepted", 0}, {"rejected", json::array()}});
  // A bare object with some fields is still one (invalid) event: 422.
  auto res = server.client().Post(events_path("t"), bearer(server.api_key()), R"({"seq":1})", "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(server.events("t").value().empty());
  // {} as a trace body creates a trace with a minted id.
  response = raw_http(server.port(),
                      "POST /api/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pt_dev_key\r\n"
                      "Content-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(response.rfind("HTTP/1.1 201", 0) == 0);
  CHECK(response.find("\"id\":\"sess_1\"") != std::string::npos);
}

TEST_CASE("dev server: unknown routes and methods answer JSON errors") {
  DevServerFixture server;
  auto res = server.client().Get("/nope", bearer(server.api_key()));
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body) == json{{"detail", "Not Found"}});
  res = server.client().Post("/api/traces/x/unknown", bearer(server.api_key()), "{}",
                             "application/json");
  REQUIRE(res);
  CHECK(res->status == 404);
  res = server.client().Delete("/api/traces", bearer(server.api_key()));
  REQUIRE(res);
  CHECK(res->status == 405);
  CHECK(json::parse(res->body) == json{{"detail", "Method Not Allowed"}});
  res = server.client().Post("/health", "{}", "application/json");
  REQUIRE(res);
  CHECK(res->status == 405);
  // An empty id segment is not a route.
  res = server.client().Post("/api/traces//events", bearer(server.api_key()), "{}", "application/json");
  REQUIRE(res);
  CHECK(res->status == 404);
}

TEST_CASE("dev server: reads return events sorted by seq and traces newest first") {
  DevServerFixture server;
  REQUIRE(server.create_trace("older") == 201);
  REQUIRE(server.create_trace("sorted") == 201);
  json batch = {{"events", json::array()}};
  for (int seq : {5, 3, 9, 0, 7}) batch["events"].push_back(make_event("sorted", seq));
  post_json(server, events_path("sorted"), batch, 200);
  CHECK(stored_seqs(server, "sorted") == std::vector<std::int64_t>{0, 3, 5, 7, 9});
  CHECK(server.events("older").value().empty());
  CHECK_FALSE(server.events("never").has_value());
  CHECK_FALSE(server.trace("never").has_value());

  auto res = server.client().Get("/api/traces", bearer(server.console_token()));
  REQUIRE(res);
  const json traces = json::parse(res->body)["traces"];
  REQUIRE(traces.size() == 2);
  CHECK(traces[0]["id"] == "sorted");
  CHECK(traces[1]["id"] == "older");
  res = server.client().Get("/api/sessions", bearer(server.console_token()));
  REQUIRE(res);
  // Sessions are listed by started_at, oldest first (ties in creation order), like the reference.
  const json sessions = json::parse(res->body)["sessions"];
  REQUIRE(sessions.size() == 2);
  CHECK(sessions[0]["id"] == "older");
  CHECK(sessions[1]["id"] == "sorted");
  CHECK(sessions[0]["labels"] == json::array());
}

TEST_CASE("dev server: a hostile session id round-trips as exactly that id") {
  DevServerFixture server;
  for (const std::string& id : {std::string("../x?y#"), std::string("a/b c%2F\xc3\xa9"),
                               std::string(".."), std::string("id\nwith\nnewlines")}) {
    INFO(id);
    json created = post_json(server, "/api/traces", {{"id", id}, {"user_goal", "g"}}, 201);
    CHECK(created["trace"]["id"] == id);
    json result = post_json(server, events_path(id), {{"events", {make_event(id, 0)}}}, 200);
    CHECK(result["accepted"] == 1);
    const auto events = server.events(id);
    REQUIRE(events.has_value());
    REQUIRE(events->size() == 1);
    CHECK((*events)[0]["session_id"] == id);
    CHECK(server.trace(id).value()["id"] == id);
  }
  // The decoded id is never confused with a path: "..%2Fx%3Fy%23" is not "/api/x".
  CHECK_FALSE(server.events("x?y#").has_value());
}

TEST_CASE("dev server: a second server on a busy port fails at start instead of sharing it") {
  DevServerFixture first;
  promptetheus::devserver::DevServer second;
  promptetheus::devserver::DevServerOptions options;
  options.host = "127.0.0.1";
  options.port = first.port();
  options.data_dir = (first.data_dir() / "second").string();
  std::string error;
  try {
    second.start(options);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK(error == "port " + std::to_string(first.port()) + " is in use (is another promptetheus dev running?)");
  second.stop();
  // The first one still answers, with its own data.
  CHECK(first.create_trace("sess-busy-port") == 201);
  CHECK(first.trace("sess-busy-port"));
}

TEST_CASE("dev server: a stopped server's port can be bound again at once") {
  DevServerFixture server;
  server.create_trace("sess-restart");
  server.stop();
  server.restart();  // throws if the port could not be bound again
  CHECK(server.trace("sess-restart"));
}

TEST_CASE("dev server: its database and artifacts are private (0600 files, 0700 directories)") {
  DevServerFixture server;
  // A data dir the server creates itself.
  promptetheus::devserver::DevServer fresh;
  promptetheus::devserver::DevServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.data_dir = (server.data_dir() / "fresh" / "data").string();
  fresh.start(options);
  fresh.stop();
  struct stat st {};
  REQUIRE(::stat(options.data_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((options.data_dir + "/promptetheus.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((server.data_dir() / "promptetheus.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("dev server: session_end, tags_added and metadata_update keep the session record true") {
  DevServerFixture server;
  REQUIRE(server.create_trace("run") == 201);
  const auto event = [](std::int64_t seq, const std::string& type, const json& payload, const std::string& at) {
    json e = make_event("run", seq);
    e["type"] = type;
    e["payload"] = payload;
    e["timestamp"] = at;
    return e;
  };
  json batch = {{"events",
                 {event(0, "state_change", {{"name", "session_started"}, {"before", nullptr}, {"after", {{"agent", "a"}}}},
                        "2026-11-21T20:42:40.250000Z"),
                  event(1, "state_change", {{"name", "tags_added"}, {"before", nullptr}, {"after", {{"tags", {"nightly", "eu"}}}}},
                        "2026-11-21T20:42:41.000000Z"),
                  event(2, "state_change",
                        {{"name", "metadata_update"}, {"before", nullptr}, {"after", {{"build", 42}, {"region", "eu-west"}}}},
                        "2026-11-21T20:42:41.500000Z")}}};
  post_json(server, events_path("run"), batch, 200);
  json trace = server.trace("run").value();
  CHECK(trace["status"] == "running");
  CHECK(trace["tags"] == json{"nightly", "eu"});
  CHECK(trace["metadata"] == json{{"build", 42}, {"region", "eu-west"}});

  // A later batch: more tags (no repeats), a metadata key overwritten, then the failed end.
  batch = {{"events",
            {event(3, "state_change", {{"name", "tags_added"}, {"before", nullptr}, {"after", {{"tags", {"eu", "retry"}}}}},
                   "2026-11-21T20:42:42.000000Z"),
             event(4, "state_change", {{"name", "metadata_update"}, {"before", nullptr}, {"after", {{"build", 43}}}},
                   "2026-11-21T20:42:42.100000Z"),
             event(5, "session_end", {{"status", "failed"}, {"error", "RuntimeError: wrong day"}},
                   "2026-11-21T20:42:43.441629Z")}}};
  post_json(server, events_path("run"), batch, 200);
  // Sent again (a replay): duplicates change nothing.
  post_json(server, events_path("run"), batch, 200);

  trace = server.trace("run").value();
  CHECK(trace["status"] == "failed");
  CHECK(trace["error"] == "RuntimeError: wrong day");
  CHECK(trace["ended_at"] == "2026-11-21T20:42:43.441629Z");
  CHECK(trace["duration_ms"] == 3191);  // from session_started's own timestamp
  CHECK(trace["tags"] == json{"nightly", "eu", "retry"});
  CHECK(trace["metadata"] == json{{"build", 43}, {"region", "eu-west"}});

  auto res = server.client().Get("/api/sessions", bearer(server.console_token()));
  REQUIRE(res);
  const json sessions = json::parse(res->body)["sessions"];
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0]["status"] == "failed");
  CHECK(sessions[0]["error"] == "RuntimeError: wrong day");
  CHECK(sessions[0]["tags"] == json{"nightly", "eu", "retry"});
}

TEST_CASE("dev server: a completed end without an error, and one without a start") {
  DevServerFixture server;
  REQUIRE(server.create_trace("ok") == 201);
  json end = make_event("ok", 1);
  end["type"] = "session_end";
  end["payload"] = {{"status", "completed"}, {"error", nullptr}};
  end["timestamp"] = "2099-01-01T00:00:00Z";  // after the trace's creation
  post_json(server, events_path("ok"), json{{"events", {end}}}, 200);
  const json trace = server.trace("ok").value();
  CHECK(trace["status"] == "completed");
  CHECK(trace["error"].is_null());
  CHECK(trace["ended_at"] == end["timestamp"]);
  CHECK(trace["duration_ms"].is_number_integer());  // from the trace's creation time
}

TEST_CASE("dev server: the onboarding bootstrap hands its project key to the console only") {
  DevServerFixture server;
  const std::string body = json{{"workspace_name", "Acme"}, {"project_name", "Browser Agent"}}.dump();
  auto res = server.client().Post("/api/onboarding/bootstrap", bearer(server.console_token()), body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 201);
  const json reply = json::parse(res->body);
  CHECK(reply["api_key"] == server.api_key());
  CHECK(reply["workspace"]["name"] == "Acme");
  CHECK(reply["project"]["name"] == "Browser Agent");
  CHECK(reply["project"]["id"] == "proj_dev");
  res = server.client().Post("/api/onboarding/bootstrap", bearer(server.api_key()), body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 403);
  res = server.client().Get("/api/onboarding/bootstrap", bearer(server.console_token()));
  REQUIRE(res);
  CHECK(res->status == 405);
}

// Python parses any integer literal exactly, so the reference validator takes 2^64 and beyond as
// integers; nlohmann would read them as inexact doubles. The dev server keeps them exact: a
// token count of any size is accepted and read back digit for digit, and a seq the store cannot
// hold (above 2^63 - 1) is rejected as too large, whatever its size.
TEST_CASE("dev server: integers beyond 64 bits in seq and token counts are integers, kept exact") {
  DevServerFixture server;
  REQUIRE(server.create_trace("wide") == 201);
  const std::string envelope =
      R"("type":"user_message","session_id":"wide","timestamp":"2026-01-02T03:04:05.000006Z",)"
      R"("payload":{"content":"x"},)";
  const std::string llm =
      R"({"type":"llm_call","session_id":"wide","timestamp":"2026-01-02T03:04:05.000006Z",)"
      R"("seq":4,"idempotency_key":"k4","payload":{"model":"m",)"
      R"("input_tokens":123456789012345678901234567890,"output_tokens":18446744073709551616,)"
      R"("latency_ms":-98765432109876543210,"metadata":{"big":[340282366920938463463374607431768211456]}}})";
  const std::string body =
      R"({"events":[)"
      R"({)" + envelope + R"("seq":9223372036854775808,"idempotency_key":"k0"},)"
      R"({)" + envelope + R"("seq":18446744073709551616,"idempotency_key":"k1"},)"
      R"({)" + envelope + R"("seq":-18446744073709551617,"idempotency_key":"k2"},)"
      R"({)" + envelope + R"("seq":1e30,"idempotency_key":"k3"},)" +
      llm + "]}";
  auto res = server.client().Post(events_path("wide"), bearer(server.api_key()), body,
                                  "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const json expected_rejections = json::array(
      {{{"index", 0}, {"idempotency_key", "k0"}, {"reason", "seq 9223372036854775808 is too large to store"}},
       {{"index", 1}, {"idempotency_key", "k1"}, {"reason", "seq 18446744073709551616 is too large to store"}},
       {{"index", 2}, {"idempotency_key", "k2"}, {"reason", "event.seq must be >= 0"}},
       {{"index", 3}, {"idempotency_key", "k3"}, {"reason", "event.seq must be an integer"}}});
  CHECK(json::parse(res->body) == json{{"accepted", 1}, {"rejected", expected_rejections}});

  // Read back as text: the stored llm_call holds the literals digit for digit.
  auto read = server.client().Get(events_path("wide"), bearer(server.console_token()));
  REQUIRE(read);
  REQUIRE(read->status == 200);
  for (const char* literal :
       {R"("input_tokens":123456789012345678901234567890)", R"("output_tokens":18446744073709551616)",
        R"("latency_ms":-98765432109876543210)", R"("big":[340282366920938463463374607431768211456])"}) {
    INFO(literal);
    CHECK(read->body.find(literal) != std::string::npos);
  }
  // The console's totals saturate at the largest int64 instead of overflowing: the token counts,
  // and their sum.
  auto list = server.client().Get("/api/console/sessions", bearer(server.console_token()));
  REQUIRE(list);
  REQUIRE(list->status == 200);
  const json sessions = json::parse(list->body)["sessions"];
  REQUIRE(sessions.size() == 1);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  CHECK(sessions[0]["input_tokens"] == kMax);
  CHECK(sessions[0]["output_tokens"] == kMax);
  CHECK(sessions[0]["tokens"] == kMax);
  // The same event posted again is a duplicate of what is stored.
  auto again = server.client().Post(events_path("wide"), bearer(server.api_key()), llm,
                                    "application/json");
  REQUIRE(again);
  CHECK(json::parse(again->body) == json{{"accepted", 1}, {"rejected", json::array()}});
}
