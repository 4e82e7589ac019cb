// The HTTP classification table and the 2xx accept/reject resolution (contract §4.6).
#include <curl/curl.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/trace_body.hpp"
#include "transport/curl_client.hpp"
#include "transport/http_outcome.hpp"
#include "transport/http_transport.hpp"

using namespace promptetheus;
using namespace promptetheus::detail;

namespace {

HttpResult status(long code, std::string retry_after = {}) {
  HttpResult r;
  r.status = code;
  r.retry_after = std::move(retry_after);
  return r;
}

HttpResult curl_failure(CURLcode code) {
  HttpResult r;
  r.curl_code = code;
  return r;
}

Outcome run(const HttpResult& r) {
  return classify(r, std::chrono::system_clock::now(), std::chrono::seconds(30));
}

std::vector<EncodedEvent> events(int n) {
  std::vector<EncodedEvent> out;
  for (int i = 0; i < n; ++i) {
    EncodedEvent e;
    e.session_id = "s";
    e.seq = static_cast<std::uint64_t>(i);
    e.idempotency_key = "s:abcd0123:" + std::to_string(i);
    e.json = R"({"idempotency_key":")" + e.idempotency_key + R"(","seq":)" + std::to_string(i) +
             R"(,"session_id":"s","type":"metric"})";
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<const EncodedEvent*> ptrs(const std::vector<EncodedEvent>& evs) {
  std::vector<const EncodedEvent*> out;
  for (const auto& e : evs) out.push_back(&e);
  return out;
}

}  // namespace

TEST_CASE("classify: HTTP status table", "[http][outcome]") {
  struct Row {
    long status;
    Action action;
  };
  const Row rows[] = {
      {200, Action::accepted},      {201, Action::accepted},     {204, Action::accepted},
      {301, Action::pause},         {307, Action::pause},        {400, Action::dead_letter},
      {401, Action::pause},         {403, Action::pause},        {404, Action::trace_missing},
      {405, Action::dead_letter},   {408, Action::transient},    {409, Action::duplicate},
      {411, Action::dead_letter},   {413, Action::too_large},    {415, Action::dead_letter},
      {422, Action::dead_letter},   {429, Action::transient},    {500, Action::transient},
      {502, Action::transient},     {503, Action::transient},    {504, Action::transient},
      {599, Action::transient},     {100, Action::transient},
  };
  for (const auto& row : rows) {
    INFO("status " << row.status);
    Outcome o = run(status(row.status));
    CHECK(action_name(o.action) == std::string(action_name(row.action)));
    CHECK(o.reason == "http_" + std::to_string(row.status));
  }
}

TEST_CASE("classify: transfer failures", "[http][outcome]") {
  CHECK(run(curl_failure(CURLE_COULDNT_CONNECT)).action == Action::transient);
  CHECK(run(curl_failure(CURLE_OPERATION_TIMEDOUT)).action == Action::transient);
  CHECK(run(curl_failure(CURLE_COULDNT_RESOLVE_HOST)).action == Action::transient);
  CHECK(run(curl_failure(CURLE_GOT_NOTHING)).action == Action::transient);
  CHECK(run(curl_failure(CURLE_RECV_ERROR)).action == Action::transient);
  CHECK(run(curl_failure(CURLE_SEND_ERROR)).action == Action::transient);
  CHECK(run(curl_failure(CURLE_ABORTED_BY_CALLBACK)).action == Action::interrupted);
  CHECK(run(curl_failure(CURLE_PEER_FAILED_VERIFICATION)).action == Action::pause);
  CHECK(run(curl_failure(CURLE_UNSUPPORTED_PROTOCOL)).action == Action::pause);
  CHECK(run(curl_failure(CURLE_URL_MALFORMAT)).action == Action::pause);
  // A transfer that "succeeded" without a status line is no answer at all.
  CHECK(run(HttpResult{}).action == Action::transient);
  CHECK_FALSE(run(curl_failure(CURLE_COULDNT_CONNECT)).reason.empty());
}

TEST_CASE("classify: Retry-After is read on any status and capped", "[http][outcome]") {
  auto o = run(status(429, "3"));
  CHECK(o.action == Action::transient);
  REQUIRE(o.retry_after);
  CHECK(o.retry_after->count() == 3);
  o = run(status(503, "86400"));
  REQUIRE(o.retry_after);
  CHECK(o.retry_after->count() == 30);
  CHECK_FALSE(run(status(503, "soon")).retry_after);
  CHECK_FALSE(run(status(503)).retry_after);
  CHECK(run(status(200, "2")).retry_after.value().count() == 2);
}

TEST_CASE("resolve: fully accounted batch", "[http][resolve]") {
  auto evs = events(3);
  auto res = resolve_accepted(R"({"accepted":3,"rejected":[]})", false, ptrs(evs));
  CHECK(res.fully_accounted);
  CHECK(res.accepted == 3);
  CHECK(res.rejected.empty());
  CHECK(res.unaccounted.empty());
}

TEST_CASE("resolve: rejection matched by idempotency key, then by index", "[http][resolve]") {
  auto evs = events(3);
  auto res = resolve_accepted(
      R"({"accepted":1,"rejected":[{"idempotency_key":"s:abcd0123:2","index":0,"reason":"schema_invalid"},)"
      R"({"index":1}]})",
      false, ptrs(evs));
  CHECK(res.fully_accounted);
  REQUIRE(res.rejected.size() == 2);
  CHECK(res.rejected[0].first == 2);  // the key wins over the index
  CHECK(res.rejected[0].second == "schema_invalid");
  CHECK(res.rejected[1].first == 1);
  CHECK(res.rejected[1].second == "rejected");  // default reason
}

TEST_CASE("resolve: unmatched, repeated and malformed rejections are ignored", "[http][resolve]") {
  auto evs = events(2);
  auto res = resolve_accepted(
      R"({"accepted":1,"rejected":[{"idempotency_key":"nope"},{"index":7},{"index":true},)"
      R"("junk",{"index":1,"reason":"a"},{"index":1,"reason":"b"}]})",
      false, ptrs(evs));
  REQUIRE(res.rejected.size() == 1);
  CHECK(res.rejected[0].first == 1);
  CHECK(res.rejected[0].second == "a");
  CHECK(res.fully_accounted);
}

TEST_CASE("resolve: ambiguous bodies leave non-rejected events unaccounted", "[http][resolve]") {
  auto evs = events(3);
  const std::vector<std::size_t> everything = {0, 1, 2};
  for (const char* body : {"", "{}", "[]", "not json", R"({"accepted":true})", R"({"accepted":-1})",
                           R"({"accepted":2.0})", R"({"accepted":"3"})", R"({"accepted":2})",
                           R"({"accepted":4})", R"({"accepted":0})"}) {
    INFO("body " << body);
    auto res = resolve_accepted(body, false, ptrs(evs));
    CHECK_FALSE(res.fully_accounted);
    CHECK(res.unaccounted == everything);
  }
  // A truncated body is never trusted, even when its prefix looks complete.
  auto truncated = resolve_accepted(R"({"accepted":3})", true, ptrs(evs));
  CHECK_FALSE(truncated.fully_accounted);
  CHECK(truncated.unaccounted == everything);
  // Ambiguous count plus one rejection: the rejection stands, the rest is re-sent.
  auto mixed = resolve_accepted(R"({"rejected":[{"index":1,"reason":"bad"}]})", false, ptrs(evs));
  CHECK_FALSE(mixed.fully_accounted);
  REQUIRE(mixed.rejected.size() == 1);
  CHECK(mixed.unaccounted == std::vector<std::size_t>{0, 2});
  // `rejected` that is not a list counts for nothing.
  auto not_list = resolve_accepted(R"({"accepted":2,"rejected":{"index":1}})", false, ptrs(evs));
  CHECK_FALSE(not_list.fully_accounted);
  CHECK(not_list.rejected.empty());
}

TEST_CASE("session ids are percent-encoded as one path segment", "[http][url]") {
  CHECK(encode_path_segment("01M7ZXHNVH2DNQWAR7C5Q4VEFW") == "01M7ZXHNVH2DNQWAR7C5Q4VEFW");
  CHECK(encode_path_segment("../x?y#") == "..%2Fx%3Fy%23");
  CHECK(encode_path_segment("a b/c%") == "a%20b%2Fc%25");
  CHECK(encode_path_segment("..") == "%2E%2E");
  CHECK(encode_path_segment(".") == "%2E");
  CHECK(encode_path_segment("\xc3\xa9") == "%C3%A9");
  CHECK(join_url("http://h:1", "/api/traces") == "http://h:1/api/traces");
  CHECK(join_url("http://h:1/", "/api/traces") == "http://h:1/api/traces");
  CHECK(join_url("http://h:1/base//", "/api/traces") == "http://h:1/base/api/traces");
}

TEST_CASE("trace body comes from the session_started event", "[http][trace]") {
  const std::string started =
      R"({"idempotency_key":"S:1:0","metadata":{"run":7},"payload":{"after":{"agent":"calendar-agent",)"
      R"("environment":null,"project_id":"p1","tags":["demo"],"user_goal":"Book Tuesday"},"before":null,)"
      R"("name":"session_started"},"seq":0,"session_id":"S","timestamp":"2026-11-21T20:42:43.441411Z","type":"state_change"})";
  auto body = nlohmann::json::parse(trace_body_from_event(nlohmann::json::parse(started)));
  CHECK(body["id"] == "S");
  CHECK(body["agent"] == "calendar-agent");
  CHECK(body["user_goal"] == "Book Tuesday");
  CHECK(body["project_id"] == "p1");
  CHECK(body["environment"].is_null());
  CHECK(body["tags"] == nlohmann::json::array({"demo"}));
  CHECK(body["metadata"] == nlohmann::json{{"run", 7}});
  // The wire order of the reference SDK (Appendix B).
  CHECK(trace_body_from_event(nlohmann::json::parse(started)).rfind(R"({"id":"S","agent":"calendar-agent","user_goal")", 0) == 0);

  auto body_of = [](const char* line) { return trace_body_from_event(nlohmann::json::parse(line, nullptr, false)); };
  CHECK(body_of(R"({"payload":{"name":"span_start"},"session_id":"S","type":"state_change"})").empty());
  CHECK(body_of(R"({"payload":{"content":"session_started"},"session_id":"S","type":"user_message"})").empty());
  CHECK(body_of("{not json").empty());
}
