// The hosted proxy tools of the reference MCP server (contract §8.1, MCP-01..MCP-05), called
// in-process against a local HTTP server that records what they send and answers as told.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "mcp_hosted_tools.hpp"

namespace {

using nlohmann::json;
using promptetheus::cli::mcp::hosted_config_error;
using promptetheus::cli::mcp::hosted_tools;
using promptetheus::cli::mcp::Tool;
using promptetheus::cli::mcp::ToolResult;
using promptetheus::cli::mcp::ToolSet;

// A stand-in for the hosted API: remembers the last request and answers with the configured
// status, body and content type.
class FakeHostedApi {
 public:
  FakeHostedApi() {
    server_.Post(".*", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      path_ = request.path;
      body_ = request.body;
      headers_.clear();
      for (const auto& [name, value] : request.headers) headers_[name] = value;
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      response.status = status_;
      response.set_content(reply_, content_type_.c_str());
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeHostedApi() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void answer(int status, std::string body, std::string content_type = "application/json") {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
    reply_ = std::move(body);
    content_type_ = std::move(content_type);
  }
  void delay(std::chrono::milliseconds d) { delay_ = d; }
  std::string path() {
    std::lock_guard<std::mutex> lock(mutex_);
    return path_;
  }
  std::string body() {
    std::lock_guard<std::mutex> lock(mutex_);
    return body_;
  }
  std::string header(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = headers_.find(name);
    return it == headers_.end() ? "<absent>" : it->second;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  int status_ = 200;
  std::string reply_ = "{}";
  std::string content_type_ = "application/json";
  std::chrono::milliseconds delay_{0};
  std::string path_, body_;
  std::map<std::string, std::string> headers_;
};

const Tool& tool_named(const ToolSet& tools, const std::string& name) {
  for (const Tool& tool : tools) {
    if (tool.name == name) return tool;
  }
  FAIL("no tool " << name);
  throw std::logic_error("unreachable");
}

json source_of(const std::string& url) {
  return json{{"service", "promptetheus-hosted-api"}, {"method", "POST"}, {"url", url}};
}

// A port nothing listens on: bound once, then closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("MCP hosted config: the error names what is missing", "[conformance][mcp][hosted]") {
  promptetheus::Options options;
  options.api_url = " ";
  options.api_key = "";
  const auto both = hosted_config_error(options);
  REQUIRE(both);
  CHECK(*both ==
        "promptetheus mcp requires PROMPTETHEUS_API_URL and PROMPTETHEUS_API_KEY. Set the hosted Promptetheus API "
        "key via environment variables or ~/.promptetheus/config.toml. Use PROMPTETHEUS_API_URL only to override "
        "the hosted default. Do not provide database service-role keys.");

  options.api_url = "https://api.example.test/";
  const auto key = hosted_config_error(options);
  REQUIRE(key);
  CHECK(key->rfind("promptetheus mcp requires PROMPTETHEUS_API_KEY. ", 0) == 0);
  CHECK(key->find("override the hosted default") != std::string::npos);
  CHECK(key->find("database service-role keys") != std::string::npos);

  options.api_url = "";
  options.api_key = "pt_key";
  const auto url = hosted_config_error(options);
  REQUIRE(url);
  CHECK(url->rfind("promptetheus mcp requires PROMPTETHEUS_API_URL. ", 0) == 0);

  options.api_url = "https://api.example.test";
  CHECK_FALSE(hosted_config_error(options));
}

TEST_CASE("MCP hosted tools: five tools with their input schemas", "[conformance][mcp][hosted]") {
  const ToolSet tools = hosted_tools("http://127.0.0.1:1", "k");
  std::vector<std::string> names;
  for (const Tool& tool : tools) {
    names.push_back(tool.name);
    CHECK(tool.input_schema["type"] == "object");
    CHECK_FALSE(tool.description.empty());
  }
  CHECK(names == std::vector<std::string>{"get_failure_context", "get_promptetheus_evidence", "search_promptetheus_logs",
                                          "get_promptetheus_advisors", "get_fix_brief"});
  CHECK(tool_named(tools, "search_promptetheus_logs").input_schema["required"] == json::array({"service"}));
  CHECK(tool_named(tools, "get_promptetheus_evidence").input_schema["properties"]["limit"]["default"] == 20);
  CHECK(tool_named(tools, "get_fix_brief").input_schema["properties"]["include_evidence"]["default"] == true);
  CHECK(tool_named(tools, "get_promptetheus_advisors").input_schema["properties"]["advisor_type"]["default"] ==
        "security");
}

TEST_CASE("MCP hosted evidence: null keys dropped, services cleaned, limit clamped, body merged",
          "[conformance][mcp][hosted]") {
  FakeHostedApi api;
  // The trailing slash of the API URL is dropped (MCP-02).
  const ToolSet tools = hosted_tools(api.url() + "/", "pt_secret");
  const Tool& evidence = tool_named(tools, "get_promptetheus_evidence");
  api.answer(200, R"({"evidence": [{"id": 1}], "summary": "two errors"})");

  const ToolResult result = evidence.call(
      json{{"incident_id", "inc-1"}, {"project_ref", nullptr}, {"services", {" api ", "", 7, "  ", "db"}}, {"limit", 999}});
  CHECK_FALSE(result.is_error);
  CHECK(api.path() == "/mcp/promptetheus/evidence");
  CHECK(api.body() == R"({"incident_id":"inc-1","services":["api","db"],"limit":100})");
  CHECK(result.value["ok"] == true);
  CHECK(result.value["status"] == 200);
  CHECK(result.value["source"] == source_of(api.url() + "/mcp/promptetheus/evidence"));
  CHECK(result.value["source"]["service"] == "promptetheus-hosted-api");
  CHECK(result.value["evidence"] == json::parse(R"([{"id": 1}])"));
  CHECK(result.value["summary"] == "two errors");

  SECTION("the headers identify the MCP client") {
    CHECK(api.header("Accept") == "application/json");
    CHECK(api.header("Authorization") == "Bearer pt_secret");
    CHECK(api.header("Content-Type") == "application/json");
    CHECK(api.header("User-Agent") == "promptetheus-mcp/0.0.1");
    CHECK(api.header("X-Promptetheus-Client") == "mcp");
  }
  SECTION("at most ten services, and none at all leaves the key out") {
    json many = json::array();
    for (int i = 0; i < 12; ++i) many.push_back("s" + std::to_string(i));
    evidence.call(json{{"services", many}});
    CHECK(api.body() == R"({"services":["s0","s1","s2","s3","s4","s5","s6","s7","s8","s9"],"limit":20})");
    evidence.call(json{{"services", {"", " ", 3}}, {"session_id", "s"}});
    CHECK(api.body() == R"({"session_id":"s","limit":20})");
  }
  SECTION("limit: clamped to 1..100, a bool or a non-integer means 20") {
    const std::vector<std::pair<json, int>> cases = {
        {999, 100}, {0, 1}, {-5, 1}, {50, 50}, {true, 20}, {false, 20}, {"50", 20}, {7.5, 20}, {nullptr, 20}};
    for (const auto& [limit, sent] : cases) {
      evidence.call(json{{"limit", limit}});
      CHECK(api.body() == "{\"limit\":" + std::to_string(sent) + "}");
    }
  }
  SECTION("the server's own ok, status and source are kept") {
    api.answer(200, R"({"ok": false, "status": "partial", "source": "cache"})");
    const ToolResult own = evidence.call(json::object());
    CHECK(own.value == json::parse(R"({"ok": false, "status": "partial", "source": "cache"})"));
  }
  SECTION("a wrongly typed argument is a tool error and sends nothing") {
    api.answer(200, "{}");
    evidence.call(json{{"incident_id", "before"}});
    const ToolResult bad = evidence.call(json{{"incident_id", 5}});
    CHECK(bad.is_error);
    CHECK(bad.value["error"] == "incident_id must be a string or null");
    CHECK(api.body() == R"({"incident_id":"before","limit":20})");
  }
}

TEST_CASE("MCP hosted tools: each posts its route and body", "[conformance][mcp][hosted]") {
  FakeHostedApi api;
  const ToolSet tools = hosted_tools(api.url(), "k");

  tool_named(tools, "get_failure_context").call(json{{"session_id", "s1"}, {"run_id", nullptr}});
  CHECK(api.path() == "/mcp/failure-context");
  CHECK(api.body() == R"({"session_id":"s1"})");

  tool_named(tools, "search_promptetheus_logs")
      .call(json{{"service", "api"}, {"query", "timeout"}, {"end_time", "2026-01-01T00:00:00Z"}, {"limit", true}});
  CHECK(api.path() == "/mcp/promptetheus/logs/search");
  CHECK(api.body() == R"({"service":"api","query":"timeout","end_time":"2026-01-01T00:00:00Z","limit":20})");
  const ToolResult no_service = tool_named(tools, "search_promptetheus_logs").call(json{{"query", "x"}});
  CHECK(no_service.is_error);

  const Tool& advisors = tool_named(tools, "get_promptetheus_advisors");
  advisors.call(json::object());
  CHECK(api.path() == "/mcp/promptetheus/advisors");
  CHECK(api.body() == R"({"type":"security"})");
  advisors.call(json{{"advisor_type", "performance"}, {"project_ref", "p"}});
  CHECK(api.body() == R"({"type":"performance","project_ref":"p"})");
  advisors.call(json{{"advisor_type", "cost"}, {"incident_id", "i"}});
  CHECK(api.body() == R"({"type":"security","incident_id":"i"})");

  const Tool& brief = tool_named(tools, "get_fix_brief");
  brief.call(json{{"incident_id", "i"}});
  CHECK(api.path() == "/mcp/fix-brief");
  CHECK(api.body() == R"({"incident_id":"i","include_evidence":true})");
  brief.call(json{{"include_evidence", false}});
  CHECK(api.body() == R"({"include_evidence":false})");
  CHECK(brief.call(json{{"include_evidence", "no"}}).is_error);
}

TEST_CASE("MCP hosted tools: every kind of answer becomes the reference's object", "[conformance][mcp][hosted]") {
  FakeHostedApi api;
  const ToolSet tools = hosted_tools(api.url(), "k");
  const Tool& brief = tool_named(tools, "get_fix_brief");
  const json source = source_of(api.url() + "/mcp/fix-brief");

  SECTION("HTTP 503: http_error with the body's message (MCP-04)") {
    api.answer(503, R"({"detail": "maintenance"})");
    const ToolResult r = brief.call(json::object());
    CHECK_FALSE(r.is_error);
    CHECK(r.value == json{{"ok", false}, {"status", 503}, {"source", source},
                          {"error", {{"type", "http_error"}, {"message", "maintenance"}}}});
  }
  SECTION("the message is the first non-empty of message, error and detail, else the raw body") {
    api.answer(400, R"({"message": "", "error": "bad input", "detail": "later"})");
    CHECK(brief.call(json::object()).value["error"]["message"] == "bad input");
    api.answer(500, "plain failure", "text/plain");
    CHECK(brief.call(json::object()).value["error"]["message"] == "plain failure");
    api.answer(502, "", "text/plain");
    CHECK(brief.call(json::object()).value["error"]["message"] == "Promptetheus API request failed.");
  }
  SECTION("a non-JSON body: invalid_json") {
    api.answer(200, "<html>hello</html>", "text/html");
    CHECK(brief.call(json::object()).value ==
          json{{"ok", false}, {"status", 200}, {"source", source},
               {"error", {{"type", "invalid_json"}, {"message", "Promptetheus API returned a non-JSON response."}}}});
  }
  SECTION("a JSON value that is not an object goes under data") {
    api.answer(200, "[1, 2]");
    CHECK(brief.call(json::object()).value ==
          json{{"ok", true}, {"status", 200}, {"source", source}, {"data", {1, 2}}});
  }
  SECTION("an empty body") {
    api.answer(200, "", "text/plain");
    CHECK(brief.call(json::object()).value == json{{"ok", true}, {"status", 200}, {"source", source}});
  }
}

TEST_CASE("MCP hosted tools: no server or no answer in time is unavailable with a null status",
          "[conformance][mcp][hosted]") {
  SECTION("connection refused (MCP-05)") {
    const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
    const ToolResult r = tool_named(hosted_tools(url, "k"), "search_promptetheus_logs").call(json{{"service", "api"}});
    CHECK_FALSE(r.is_error);
    CHECK(r.value["ok"] == false);
    CHECK(r.value["status"].is_null());
    CHECK(r.value["source"] == source_of(url + "/mcp/promptetheus/logs/search"));
    CHECK(r.value["error"]["type"] == "unavailable");
    CHECK_FALSE(r.value["error"]["message"].get<std::string>().empty());
  }
  SECTION("timeout") {
    FakeHostedApi api;
    api.delay(std::chrono::milliseconds(1500));
    const auto tools = hosted_tools(api.url(), "k", std::chrono::milliseconds(300));
    const auto started = std::chrono::steady_clock::now();
    const ToolResult r = tool_named(tools, "get_failure_context").call(json::object());
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1400));
    CHECK(r.value["status"].is_null());
    CHECK(r.value["error"]["type"] == "unavailable");
  }
}
