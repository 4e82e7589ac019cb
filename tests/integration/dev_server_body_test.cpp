// Request bodies of the dev server: gzip, size limits, gzip bombs, hostile JSON shapes, chunked
// and unsupported encodings. Every case gets a JSON error and the server keeps serving.
#include <catch2/catch.hpp>

#include <fstream>

#include "dev/request_body.hpp"
#include "dev_server_fixture.hpp"

using nlohmann::json;
using promptetheus::devserver::gunzip_bounded;
using promptetheus::devserver::GunzipResult;
using promptetheus::testing::DevServerFixture;
using promptetheus::testing::gzip_compress;
using promptetheus::testing::make_event;
using promptetheus::testing::raw_http;

namespace {

struct Reply {
  int status;
  json body;
};

Reply post(DevServerFixture& server, const std::string& path, const std::string& body,
           const std::string& encoding = "", const std::string& type = "application/json") {
  httplib::Headers headers{{"Authorization", "Bearer pt_dev_key"}};
  if (!encoding.empty()) headers.emplace("Content-Encoding", encoding);
  auto res = server.client().Post(path, headers, body, type);
  REQUIRE(res);
  INFO(res->body);
  return Reply{res->status, res->body.empty() ? json() : json::parse(res->body)};
}

std::string batch_of(const std::string& session, int count, int first_seq = 0) {
  json batch = {{"events", json::array()}};
  for (int i = 0; i < count; ++i) batch["events"].push_back(make_event(session, first_seq + i));
  return batch.dump();
}

// A gzip body that inflates to `members` x 16 MiB of zeros: one compressed member, repeated
// (concatenated members are one valid gzip stream), so it is cheap to build.
std::string gzip_bomb(int members) {
  const std::string member = gzip_compress(std::string(16u << 20, '\0'));
  std::string out;
  for (int i = 0; i < members; ++i) out += member;
  return out;
}

// Peak resident memory of this process (the server runs in it), in MiB.
long peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

}  // namespace

TEST_CASE("dev server body: gzip and plain bodies are both accepted") {
  DevServerFixture server;
  REQUIRE(server.create_trace("gz") == 201);
  Reply gz = post(server, "/api/traces/gz/events", gzip_compress(batch_of("gz", 2, 10)), "gzip");
  CHECK(gz.status == 200);
  CHECK(gz.body == json{{"accepted", 2}, {"rejected", json::array()}});
  Reply plain = post(server, "/api/traces/gz/events", batch_of("gz", 2, 0));
  CHECK(plain.status == 200);
  CHECK(plain.body["accepted"] == 2);
  // Concatenated gzip members are one body; "x-gzip" contains gzip.
  const std::string events = batch_of("gz", 1, 20);
  const std::string half = events.substr(0, events.size() / 2);
  Reply members = post(server, "/api/traces/gz/events",
                       gzip_compress(half) + gzip_compress(events.substr(half.size())), "x-gzip");
  CHECK(members.status == 200);
  CHECK(members.body["accepted"] == 1);
  std::vector<std::int64_t> seqs;
  const std::vector<json> stored = server.events("gz").value();
  for (const json& e : stored) seqs.push_back(e["seq"]);
  CHECK(seqs == std::vector<std::int64_t>{0, 1, 10, 11, 20});
}

TEST_CASE("dev server body: malformed or truncated gzip is 400") {
  DevServerFixture server;
  REQUIRE(server.create_trace("bad") == 201);
  const json expected = {{"detail", "malformed gzip body"}};
  Reply not_gzip = post(server, "/api/traces/bad/events", batch_of("bad", 1), "gzip");
  CHECK(not_gzip.status == 400);
  CHECK(not_gzip.body == expected);
  const std::string whole = gzip_compress(batch_of("bad", 30));
  Reply truncated = post(server, "/api/traces/bad/events", whole.substr(0, whole.size() - 9), "gzip");
  CHECK(truncated.status == 400);
  CHECK(truncated.body == expected);
  Reply trailing = post(server, "/api/traces/bad/events", whole + "garbage", "gzip");
  CHECK(trailing.status == 400);
  CHECK(trailing.body == expected);
  CHECK(server.events("bad").value().empty());
}

TEST_CASE("dev server body: unsupported content encodings are 415") {
  DevServerFixture server;
  REQUIRE(server.create_trace("br") == 201);
  Reply reply = post(server, "/api/traces/br/events", batch_of("br", 1), "br");
  CHECK(reply.status == 415);
  CHECK(reply.body["detail"] == "unsupported content-encoding: br");
  CHECK(post(server, "/api/traces/br/events", batch_of("br", 1), "identity").status == 200);
}

TEST_CASE("dev server body: a body over the limit is 413 and the server keeps serving") {
  DevServerFixture server([](auto& options) { options.limits.max_wire_bytes = 64 * 1024; });
  REQUIRE(server.create_trace("big") == 201);
  const std::string big = batch_of("big", 1000);
  REQUIRE(big.size() > 64 * 1024);
  Reply reply = post(server, "/api/traces/big/events", big);
  CHECK(reply.status == 413);
  CHECK(reply.body["detail"] == "request body exceeds 65536 bytes");
  CHECK(post(server, "/api/traces/big/events", batch_of("big", 10)).status == 200);
  CHECK(server.events("big").value().size() == 10);
}

TEST_CASE("dev server body: a gzip bomb is 413 with bounded memory") {
  DevServerFixture server;  // default limits: 64 MiB on the wire, 64 MiB decompressed
  REQUIRE(server.create_trace("bomb") == 201);
  const std::string bomb = gzip_bomb(128);  // 2 GiB of zeros, ~2 MiB compressed
  REQUIRE(bomb.size() < (8u << 20));
  Reply reply = post(server, "/api/traces/bomb/events", bomb, "gzip");
  CHECK(reply.status == 413);
  CHECK(reply.body["detail"] == "decompressed request body exceeds 67108864 bytes");
  // Inflating it all would need 2 GiB; the server stops at the limit.
  CHECK(peak_rss_mib() < 700);
  CHECK(post(server, "/api/traces/bomb/events", batch_of("bomb", 3)).body["accepted"] == 3);
}

TEST_CASE("dev server body: hostile JSON shapes are 400, never a crash") {
  DevServerFixture server([](auto& options) { options.limits.max_json_values = 10000; });
  REQUIRE(server.create_trace("j") == 201);
  Reply deep = post(server, "/api/traces/j/events", std::string(200000, '['));
  CHECK(deep.status == 400);
  CHECK(deep.body["detail"] == "JSON body is nested deeper than 512 levels");
  std::string wide = "{\"events\": [";
  for (int i = 0; i < 20000; ++i) wide += "0,";
  wide += "0]}";
  Reply many = post(server, "/api/traces/j/events", wide);
  CHECK(many.status == 400);
  CHECK(many.body["detail"] == "JSON body has more than 10000 values");
  // Brackets inside strings do not count as nesting.
  json event = make_event("j", 0);
  event["payload"]["content"] = std::string(5000, '[') + "\\\"{";
  CHECK(post(server, "/api/traces/j/events", json{{"events", {event}}}.dump()).body["accepted"] == 1);
}

TEST_CASE("dev server body: a chunked request body is read") {
  DevServerFixture server;
  REQUIRE(server.create_trace("c") == 201);
  const std::string body = batch_of("c", 2);
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  const std::string response =
      raw_http(server.port(), "POST /api/traces/c/events HTTP/1.1\r\nHost: x\r\n"
                              "Authorization: Bearer pt_dev_key\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                                  std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n");
  CHECK(response.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(response.find("\"accepted\":2") != std::string::npos);
}

TEST_CASE("gunzip_bounded: ok, malformed, too large") {
  std::string out;
  CHECK(gunzip_bounded(gzip_compress("hello"), 100, out) == GunzipResult::ok);
  CHECK(out == "hello");
  CHECK(gunzip_bounded(gzip_compress(std::string(1000, 'a')), 999, out) == GunzipResult::too_large);
  CHECK(out.empty());
  CHECK(gunzip_bounded(gzip_compress(std::string(1000, 'a')), 1000, out) == GunzipResult::ok);
  CHECK(gunzip_bounded("", 100, out) == GunzipResult::malformed);
  CHECK(gunzip_bounded("\x1f\x8b garbage", 100, out) == GunzipResult::malformed);
}

TEST_CASE("wide integers: located by path, forgotten when replaced, written back as sent") {
  using promptetheus::devserver::parse_keeping_wide_integers;
  using promptetheus::devserver::replace_wide_integers_with_doubles;
  using promptetheus::devserver::wide_integers_under;
  using promptetheus::devserver::WideInteger;
  using promptetheus::devserver::write_json_with_wide_integers;
  const std::string text =
      R"({"a":[1,{"b":18446744073709551616},-18446744073709551617],"dup":99999999999999999999,)"
      R"("dup":5,"f":1.5e3,"g":18446744073709551615,"k/~":[[36893488147419103232]]})";
  json doc;
  std::vector<WideInteger> wide;
  REQUIRE(parse_keeping_wide_integers(text, doc, wide));
  // The replaced "dup" is forgotten; 1.5e3 is a float literal; 2^64 - 1 fits in 64 bits.
  REQUIRE(wide.size() == 3);
  CHECK(wide[0].path == std::vector<std::string>{"a", "1", "b"});
  CHECK(wide[0].literal == "18446744073709551616");
  CHECK(wide[1].path == std::vector<std::string>{"a", "2"});
  CHECK(wide[1].literal == "-18446744073709551617");
  CHECK(wide[2].path == std::vector<std::string>{"k/~", "0", "0"});
  // Stand-ins are integers of the literal's sign.
  CHECK(doc["a"][1]["b"].is_number_unsigned());
  CHECK(doc["a"][2].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK(doc["dup"] == 5);
  CHECK(doc["g"].get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());

  std::string out;
  write_json_with_wide_integers(out, doc, wide);
  CHECK(out ==
        R"({"a":[1,{"b":18446744073709551616},-18446744073709551617],"dup":5,"f":1500.0,)"
        R"("g":18446744073709551615,"k/~":[[36893488147419103232]]})");

  // Relative to a prefix; a place given another value is written as that value.
  const std::vector<WideInteger> in_a = wide_integers_under(wide, {"a"});
  REQUIRE(in_a.size() == 2);
  CHECK(in_a[0].path == std::vector<std::string>{"1", "b"});
  json a = doc["a"];
  a[2] = "replaced";
  out.clear();
  write_json_with_wide_integers(out, a, in_a);
  CHECK(out == R"([1,{"b":18446744073709551616},"replaced"])");

  replace_wide_integers_with_doubles(doc, wide);
  CHECK(doc["a"][1]["b"] == 18446744073709551616.0);
  CHECK(doc["k/~"][0][0] == 36893488147419103232.0);

  // Malformed JSON is refused with nothing kept.
  CHECK_FALSE(parse_keeping_wide_integers(R"({"a":18446744073709551616,)", doc, wide));
  CHECK(wide.empty());
  CHECK(doc.is_null());
}
