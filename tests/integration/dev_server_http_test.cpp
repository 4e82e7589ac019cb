// The dev server's HTTP/1.1 layer on the wire (apps/dev/http_server.hpp): keep-alive and
// Connection: close, HTTP/1.0, pipelining, 100 Continue, HEAD, chunked framing, the idle, head
// and body timeouts, the connection cap, and clients that leave before their response.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "dev_server_fixture.hpp"
#include "raw_connection.hpp"

using nlohmann::json;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::make_event;
using promptetheus::testing::raw_http;
using promptetheus::testing::RawConnection;
using namespace std::chrono_literals;

namespace {

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

std::string head_of(const std::string& response) {
  return response.substr(0, response.find("\r\n\r\n") + 2);
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

bool has_header_line(const std::string& response, const std::string& line) {
  return head_of(response).find("\r\n" + line + "\r\n") != std::string::npos;
}

const std::string kHealth = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

std::string post_events_request(const std::string& trace, const std::string& body,
                                 const std::string& extra_headers = "") {
  return "POST /api/traces/" + trace + "/events HTTP/1.1\r\nHost: x\r\n"
         "Authorization: Bearer pt_dev_key\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string one_event_batch(const std::string& trace, int seq) {
  return json{{"events", {make_event(trace, seq)}}}.dump();
}

}  // namespace

TEST_CASE("dev server http: HTTP/1.1 connections stay open until Connection close") {
  DevServerFixture server;
  RawConnection c(server.port());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send_all(kHealth));
    const std::string response = c.read_response();
    CHECK(status_line(response) == "HTTP/1.1 200 OK");
    CHECK(body_of(response) == "{\"status\":\"ok\"}");
    CHECK(has_header_line(response, "Content-Type: application/json"));
    CHECK(has_header_line(response, "Content-Length: 15"));
    CHECK(head_of(response).find("\r\nDate: ") != std::string::npos);
    CHECK(head_of(response).find("Connection:") == std::string::npos);
  }
  REQUIRE(c.send_all("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string last = c.read_response();
  CHECK(status_line(last) == "HTTP/1.1 200 OK");
  CHECK(has_header_line(last, "Connection: close"));
  CHECK(c.closed_by_server(5s));
}

TEST_CASE("dev server http: HTTP/1.0 closes unless keep-alive is asked for") {
  DevServerFixture server;
  const std::string plain = raw_http(server.port(), "GET /health HTTP/1.0\r\n\r\n");
  CHECK(status_line(plain) == "HTTP/1.1 200 OK");
  CHECK(has_header_line(plain, "Connection: close"));

  RawConnection c(server.port());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(c.send_all("GET /health HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    const std::string response = c.read_response();
    CHECK(status_line(response) == "HTTP/1.1 200 OK");
    CHECK(has_header_line(response, "Connection: keep-alive"));
  }
}

TEST_CASE("dev server http: pipelined requests are answered in order") {
  DevServerFixture server;
  REQUIRE(server.create_trace("p") == 201);
  RawConnection c(server.port());
  // Empty lines before a request line are ignored (RFC 9112 section 2.2).
  REQUIRE(c.send_all(kHealth + post_events_request("p", one_event_batch("p", 0)) + "\r\n" +
                     "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(status_line(c.read_response()) == "HTTP/1.1 200 OK");
  const std::string posted = c.read_response();
  CHECK(status_line(posted) == "HTTP/1.1 200 OK");
  CHECK(json::parse(body_of(posted))["accepted"] == 1);
  const std::string missing = c.read_response();
  CHECK(status_line(missing) == "HTTP/1.1 404 Not Found");
  CHECK(json::parse(body_of(missing)) == json{{"detail", "Not Found"}});
}

TEST_CASE("dev server http: Expect 100-continue is answered before the body is sent") {
  DevServerFixture server;
  REQUIRE(server.create_trace("e") == 201);
  const std::string body = one_event_batch("e", 0);
  const std::string request = post_events_request("e", body, "Expect: 100-continue\r\n");
  RawConnection c(server.port());
  REQUIRE(c.send_all(request.substr(0, request.size() - body.size())));  // the head alone
  CHECK(c.read_response() == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.send_all(body));
  const std::string response = c.read_response();
  CHECK(status_line(response) == "HTTP/1.1 200 OK");
  CHECK(json::parse(body_of(response))["accepted"] == 1);
}

TEST_CASE("dev server http: HEAD is answered like GET without the body") {
  DevServerFixture server;
  RawConnection c(server.port());
  REQUIRE(c.send_all("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string head = c.read_response(10s, /*to_head=*/true);
  CHECK(status_line(head) == "HTTP/1.1 200 OK");
  CHECK(has_header_line(head, "Content-Length: 15"));  // the GET's length, without its body
  // Had a body followed the HEAD response, it would come before this response's status line.
  REQUIRE(c.send_all(kHealth));
  const std::string next = c.read_response();
  CHECK(status_line(next) == "HTTP/1.1 200 OK");
  CHECK(body_of(next) == "{\"status\":\"ok\"}");

  const std::string options = raw_http(server.port(), "OPTIONS /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(status_line(options) == "HTTP/1.1 405 Method Not Allowed");
  CHECK(json::parse(body_of(options)) == json{{"detail", "Method Not Allowed"}});
}

TEST_CASE("dev server http: header names are matched without regard to case") {
  DevServerFixture server;
  REQUIRE(server.create_trace("case") == 201);
  const std::string body = one_event_batch("case", 0);
  const std::string response = raw_http(
      server.port(), "POST /api/traces/case/events HTTP/1.1\r\nhost: x\r\nAUTHORIZATION: Bearer pt_dev_key\r\n"
                     "content-length: " + std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body);
  CHECK(status_line(response) == "HTTP/1.1 200 OK");
  CHECK(has_header_line(response, "Connection: close"));
}

TEST_CASE("dev server http: chunked bodies with extensions and trailers are read and bad framing is 400") {
  DevServerFixture server;
  REQUIRE(server.create_trace("ch") == 201);
  const std::string body = one_event_batch("ch", 0);
  const std::string head = "POST /api/traces/ch/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pt_dev_key\r\n"
                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  char first[32], second[32];
  std::snprintf(first, sizeof first, "%zX;name=value\r\n", std::size_t{10});
  std::snprintf(second, sizeof second, "%zx\r\n", body.size() - 10);
  const std::string ok = raw_http(server.port(), head + first + body.substr(0, 10) + "\r\n" + second +
                                                     body.substr(10) + "\r\n0\r\nX-Trailer: 1\r\n\r\n");
  CHECK(status_line(ok) == "HTTP/1.1 200 OK");
  CHECK(json::parse(body_of(ok))["accepted"] == 1);

  for (const std::string& bad : {std::string("zz\r\nabc\r\n0\r\n\r\n"), std::string("3\r\nabcX\r\n0\r\n\r\n"),
                                 std::string("1234567890123456\r\n")}) {
    INFO(bad);
    const std::string response = raw_http(server.port(), head + bad);
    CHECK(status_line(response) == "HTTP/1.1 400 Bad Request");
    CHECK(json::parse(body_of(response)) == json{{"detail", "malformed chunked request body"}});
  }
}

TEST_CASE("dev server http: conflicting or unsupported body framing is refused") {
  DevServerFixture server;
  const std::string both = raw_http(server.port(),
                                    "POST /api/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  CHECK(status_line(both) == "HTTP/1.1 400 Bad Request");
  CHECK(json::parse(body_of(both)) == json{{"detail", "both Content-Length and Transfer-Encoding"}});
  CHECK(has_header_line(both, "Connection: close"));

  const std::string gzip = raw_http(server.port(), "POST /api/traces HTTP/1.1\r\nHost: x\r\n"
                                                   "Transfer-Encoding: gzip, chunked\r\n\r\n");
  CHECK(status_line(gzip) == "HTTP/1.1 501 Not Implemented");
  CHECK(json::parse(body_of(gzip)) == json{{"detail", "unsupported transfer-encoding: gzip, chunked"}});

  for (const std::string& length : {std::string("abc"), std::string("-1"), std::string("1, 2")}) {
    const std::string bad = raw_http(server.port(), "POST /api/traces HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                                        length + "\r\n\r\n");
    CHECK(status_line(bad) == "HTTP/1.1 400 Bad Request");
    CHECK(json::parse(body_of(bad)) == json{{"detail", "invalid Content-Length"}});
  }
}

TEST_CASE("dev server http: a multipart body is 415 and the connection closes") {
  DevServerFixture server;
  REQUIRE(server.create_trace("m") == 201);
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--b--\r\n";
  RawConnection c(server.port());
  REQUIRE(c.send_all("POST /api/traces/m/artifacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pt_dev_key\r\n"
                     "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  const std::string response = c.read_response();
  CHECK(status_line(response) == "HTTP/1.1 415 Unsupported Media Type");
  CHECK(json::parse(body_of(response)) == json{{"detail", "multipart request bodies are not supported"}});
  CHECK(has_header_line(response, "Connection: close"));
  CHECK(c.closed_by_server(5s));
}

TEST_CASE("dev server http: a declared body far beyond the limit is 413 without being read") {
  DevServerFixture server([](auto& options) { options.limits.max_wire_bytes = 64 * 1024; });
  REQUIRE(server.create_trace("big") == 201);
  RawConnection c(server.port());
  // Only the head is sent: the answer must not wait for 10 MiB that never come.
  REQUIRE(c.send_all("POST /api/traces/big/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pt_dev_key\r\n"
                     "Content-Length: 10485760\r\n\r\n"));
  const std::string response = c.read_response(5s);
  CHECK(status_line(response) == "HTTP/1.1 413 Payload Too Large");
  CHECK(json::parse(body_of(response)) == json{{"detail", "request body exceeds 65536 bytes"}});
  CHECK(has_header_line(response, "Connection: close"));
  c.close();  // the server discards what a client still sends after a refusal, until it closes
  CHECK(status_line(raw_http(server.port(), "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")) ==
        "HTTP/1.1 200 OK");
}

TEST_CASE("dev server http: an idle keep-alive connection is closed after the idle timeout") {
  DevServerFixture server([](auto& options) { options.connections.idle_timeout = 300ms; });
  RawConnection c(server.port());
  REQUIRE(c.send_all(kHealth));
  CHECK(status_line(c.read_response()) == "HTTP/1.1 200 OK");
  CHECK(c.closed_by_server(5s));
  // A connection that never sends anything is closed the same way.
  RawConnection silent(server.port());
  CHECK(silent.closed_by_server(5s));
}

TEST_CASE("dev server http: a request head that does not arrive in time is 408") {
  DevServerFixture server([](auto& options) { options.connections.head_timeout = 500ms; });
  RawConnection c(server.port());
  REQUIRE(c.send_all("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a"));
  const std::string response = c.read_until_closed(5s);
  CHECK(status_line(response) == "HTTP/1.1 408 Request Timeout");
  CHECK(json::parse(body_of(response)) == json{{"detail", "request header not received in time"}});
  CHECK(has_header_line(response, "Connection: close"));
}

TEST_CASE("dev server http: a request body that does not arrive in time is 408") {
  DevServerFixture server([](auto& options) { options.connections.body_timeout = 500ms; });
  REQUIRE(server.create_trace("slow") == 201);
  RawConnection c(server.port());
  REQUIRE(c.send_all("POST /api/traces/slow/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer pt_dev_key\r\n"
                     "Content-Length: 100\r\n\r\n{\"events\":"));
  const std::string response = c.read_until_closed(5s);
  CHECK(status_line(response) == "HTTP/1.1 408 Request Timeout");
  CHECK(json::parse(body_of(response)) == json{{"detail", "request body not received in time"}});
  CHECK(has_header_line(response, "Connection: close"));
  CHECK(server.events("slow").value().empty());
}

TEST_CASE("dev server http: beyond the connection cap a new connection is answered 503") {
  DevServerFixture server([](auto& options) { options.connections.max_connections = 4; });
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port()));
    REQUIRE(held.back()->send_all(kHealth));
    REQUIRE(status_line(held.back()->read_response()) == "HTTP/1.1 200 OK");  // served, kept open
  }
  const std::string refused = raw_http(server.port(), kHealth);
  CHECK(status_line(refused) == "HTTP/1.1 503 Service Unavailable");
  CHECK(json::parse(body_of(refused)) == json{{"detail", "too many connections"}});
  CHECK(has_header_line(refused, "Connection: close"));

  // Once a held connection ends, a new one is served again.
  held.pop_back();
  bool served = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    served = status_line(raw_http(server.port(), "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")) ==
             "HTTP/1.1 200 OK";
  }
  CHECK(served);
}

TEST_CASE("dev server http: clients that leave before reading their response do not stop the server") {
  DevServerFixture server;
  REQUIRE(server.create_trace("large") == 201);
  // A client that resets its connection while the server reads its body: the read reports the
  // reset, and the server's answer then fails with EPIPE, which raises SIGPIPE (and ends this
  // process) unless the server sends with MSG_NOSIGNAL.
  for (int i = 0; i < 5; ++i) {
    RawConnection c(server.port());
    REQUIRE(c.send_all("POST /api/traces/large/events HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer pt_dev_key\r\nContent-Length: 100\r\n\r\n{"));
    c.reset();
  }
  // ~8 MB of stored events: the response outgrows the socket buffers, so the server is still
  // writing when the client's reset arrives.
  auto client = server.client();
  for (int batch = 0; batch < 20; ++batch) {
    json events = json::array();
    for (int i = 0; i < 1000; ++i) {
      json event = make_event("large", batch * 1000 + i);
      event["payload"]["content"] = std::string(200, 'x');
      events.push_back(std::move(event));
    }
    auto res = client.Post("/api/traces/large/events", {{"Authorization", "Bearer pt_dev_key"}},
                           json{{"events", events}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  for (int i = 0; i < 5; ++i) {
    RawConnection c(server.port());
    REQUIRE(c.send_all("GET /api/traces/large/events HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer pt_console_token\r\n\r\n"));
    REQUIRE_FALSE(c.read_some().empty());  // the server is writing; most of the response is left
  }  // closed with unread input: the client's kernel answers the server's next segment with a reset
  auto res = server.client().Get("/health");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("dev server http: stop and start again on the same server object") {
  DevServerFixture server;
  CHECK(server.server().running());
  std::string error;
  try {
    promptetheus::devserver::DevServerOptions options;
    options.port = 0;
    options.data_dir = (server.data_dir() / "again").string();
    server.server().start(options);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK(error == "the dev server is already running");
  server.stop();
  CHECK_FALSE(server.server().running());
  CHECK(server.server().port() == 0);
  server.restart();
  CHECK(server.server().running());
  CHECK(server.create_trace("after-restart") == 201);
}
