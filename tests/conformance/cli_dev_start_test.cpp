// `promptetheus dev` start-up as a user meets it: a busy port is an error with its reason and exit
// code 1 (no usage text), listening beyond loopback warns that the dev credentials are public;
// and `export --out` writes a private file, like the spool it reads; `export --format otlp` writes
// the session as an OTLP/HTTP JSON request and leaves the default document as it was, and with
// --to sends it to an OTLP/HTTP receiver (here `promptetheus dev`'s).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "conformance/dev_server_process.hpp"
#include "conformance/subprocess.hpp"
#include "dev/http.hpp"

namespace {

using promptetheus::test::run_process;
using promptetheus::test::TempDir;

// A port held by a listening loopback socket for the object's lifetime.
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(fd_, 4) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~BusyPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  BusyPort(const BusyPort&) = delete;
  BusyPort& operator=(const BusyPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

TEST_CASE("dev on a busy port exits 1 with its reason, without usage text", "[conformance][cli][dev]") {
  BusyPort busy;
  REQUIRE(busy.port() > 0);
  TempDir dir;
  const std::string port = std::to_string(busy.port());
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"dev", "--port", port, "--data-dir", dir.path() + "/data"},
                             dir.path());
  CHECK(r.exit_code == 1);
  CHECK(r.err == "promptetheus dev: port " + port + " is in use (is another promptetheus dev running?)\n");
  CHECK(r.out.empty());
}

TEST_CASE("dev listening beyond loopback warns that the dev credentials are public", "[conformance][cli][dev]") {
  BusyPort busy;  // so that the server stops right after the warning
  REQUIRE(busy.port() > 0);
  TempDir dir;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH,
                             {"dev", "--host", "0.0.0.0", "--port", std::to_string(busy.port()), "--data-dir",
                              dir.path() + "/data"},
                             dir.path());
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("promptetheus dev: warning: listening on 0.0.0.0, beyond this machine: the dev API key and "
                    "console token are public defaults",
                    0) == 0);
}

TEST_CASE("export --out writes a private file", "[conformance][cli]") {
  TempDir dir;
  REQUIRE(run_process("/bin/mkdir", {"-p", dir.path() + "/spool"}, "").exit_code == 0);
  REQUIRE(run_process("/bin/sh",
                      {"-c", "printf '%s\\n' '{\"idempotency_key\":\"s:n:0\",\"payload\":{\"content\":\"hi\"},\"seq\":0,"
                             "\"session_id\":\"s\",\"timestamp\":\"2024-01-01T00:00:00.000000Z\",\"type\":"
                             "\"user_message\"}' > spool/s.jsonl"},
                      dir.path())
              .exit_code == 0);
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--out", "s.json"}, dir.path());
  REQUIRE(r.exit_code == 0);
  struct stat st {};
  REQUIRE(::stat((dir.path() + "/s.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

// A spooled session "s" (agent "cal") with one span "search" whose tool result failed.
void write_span_session(const TempDir& dir) {
  REQUIRE(run_process("/bin/mkdir", {"-p", dir.path() + "/spool"}, "").exit_code == 0);
  const std::string span = "span_0af7651916cd43dd8448eb211c80319c";
  const std::string lines =
      R"({"idempotency_key":"s:n:0","payload":{"after":{"agent":"cal"},"name":"session_started"},"seq":0,)"
      R"("session_id":"s","timestamp":"2024-01-01T00:00:00.000000Z","type":"state_change"})" "\n"
      R"({"idempotency_key":"s:n:1","parent_id":null,"payload":{"name":"span_start","span_name":"search"},"seq":1,)"
      R"("session_id":"s","span_id":")" + span + R"(","timestamp":"2024-01-01T00:00:00.000100Z","type":"state_change"})" "\n"
      R"({"idempotency_key":"s:n:2","parent_id":null,"payload":{"error":"boom"},"seq":2,)"
      R"("session_id":"s","span_id":")" + span + R"(","timestamp":"2024-01-01T00:00:00.000200Z","type":"tool_result"})" "\n"
      R"({"idempotency_key":"s:n:3","parent_id":null,"payload":{"duration_ms":1.5,"name":"span_end","span_name":"search"},)"
      R"("seq":3,"session_id":"s","span_id":")" + span + R"(","timestamp":"2024-01-01T00:00:00.002000Z","type":"state_change"})" "\n";
  {
    std::ofstream file(dir.path() + "/spool/s.jsonl", std::ios::binary);
    file << lines;
    REQUIRE(file.good());
  }

}

TEST_CASE("export --format otlp writes the session as OpenTelemetry spans", "[conformance][cli]") {
  TempDir dir;
  write_span_session(dir);

  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--format", "otlp"}, dir.path());
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  const auto& spans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
  REQUIRE(spans.size() == 2);
  CHECK(spans[0]["name"] == "promptetheus.session s");
  CHECK(spans[0]["startTimeUnixNano"] == "1704067200000000000");
  CHECK(spans[0]["endTimeUnixNano"] == "1704067200002000000");
  CHECK(spans[1]["name"] == "search");
  CHECK(spans[1]["spanId"] == "0af7651916cd43dd");
  CHECK(spans[1]["parentSpanId"] == spans[0]["spanId"]);
  CHECK(spans[1]["traceId"] == spans[0]["traceId"]);
  CHECK(spans[1]["startTimeUnixNano"] == "1704067200000100000");
  CHECK(spans[1]["endTimeUnixNano"] == "1704067200001600000");
  CHECK(spans[1]["status"]["code"] == 2);
  CHECK(spans[1]["events"].at(0)["name"] == "tool_result");
  CHECK(doc["resourceSpans"][0]["resource"]["attributes"][0] ==
        nlohmann::json::parse(R"({"key":"service.name","value":{"stringValue":"cal"}})"));

  // -o writes a private file and says how many spans it holds.
  const auto to_file =
      run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--format", "otlp", "-o", "s.otlp.json"},
                  dir.path());
  REQUIRE(to_file.exit_code == 0);
  CHECK(to_file.out == "Exported 2 span(s) to s.otlp.json.\n");
  struct stat st {};
  REQUIRE(::stat((dir.path() + "/s.otlp.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // The default document is the recorded events, as before; an unknown format is refused.
  const auto plain = run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool"}, dir.path());
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.out.rfind("{\n  \"session_id\": \"s\",\n  \"events\": [", 0) == 0);
  CHECK(nlohmann::json::parse(plain.out)["summary"]["count"] == 4);
  CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--format", "xml"}, dir.path()).exit_code != 0);
}

TEST_CASE("export --format otlp --to sends the spans to an OTLP/HTTP receiver", "[conformance][cli]") {
  TempDir dir;
  write_span_session(dir);
  promptetheus::test::DevServer server(dir.path() + "/dev");
  REQUIRE(server.ready());

  // A base URL gets /v1/traces; headers come from PROMPTETHEUS_OTLP_HEADERS and --header.
  const auto sent = run_process(PROMPTETHEUS_CLI_PATH,
                                {"export", "s", "--dir", "spool", "--format", "otlp", "--to", server.url(),
                                 "--header", "x-team=agents", "--header", "broken"},
                                dir.path(), {"PROMPTETHEUS_OTLP_HEADERS=x-env=1"});
  CHECK(sent.exit_code == 0);
  CHECK(sent.out == "Sent 2 span(s) to " + server.url() + "/v1/traces.\n");
  CHECK(sent.err == "promptetheus: header 'broken' has no '='; left out\n");

  // The receiver holds them as a session of their trace (the trace derived from the session id).
  const auto doc = nlohmann::json::parse(
      run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--format", "otlp"}, dir.path()).out);
  const std::string trace = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"];
  httplib::Client client(server.url());
  auto res = client.Get("/api/traces/otel_" + trace + "/events", {{"Authorization", "Bearer pt_console_token"}});
  REQUIRE(res);
  REQUIRE(res->status == 200);
  std::vector<std::string> started;
  const auto stored = nlohmann::json::parse(res->body);
  for (const auto& event : stored["events"]) {
    if (event["payload"].value("name", "") == "span_start") started.push_back(event["payload"]["span_name"]);
  }
  CHECK(started == std::vector<std::string>{"promptetheus.session s", "search"});

  // --to is for spans; a receiver that is not there is an API error.
  CHECK(run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--to", server.url()}, dir.path())
            .exit_code == 64);
  const auto refused = run_process(
      PROMPTETHEUS_CLI_PATH,
      {"export", "s", "--dir", "spool", "--format", "otlp", "--to", "http://127.0.0.1:" +
                                                                        std::to_string(promptetheus::test::free_port())},
      dir.path());
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("did not take the spans") != std::string::npos);
}
