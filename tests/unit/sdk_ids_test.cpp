// Identifier and timestamp formats (contract §1.2) and spool file names (§4.3, §4.7).
#include <time.h>

#include <cstdio>
#include <regex>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "transport/spool.hpp"

using nlohmann::json;
using namespace promptetheus::detail;

namespace {

const std::string kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::uint64_t decode_ulid_time(const std::string& ulid) {
  std::uint64_t ms = 0;
  for (int i = 0; i < 10; ++i) ms = (ms << 5) | static_cast<std::uint64_t>(kCrockford.find(ulid[i]));
  return ms;
}

std::string timestamp(std::int64_t us) {
  std::string out;
  append_timestamp(out, us);
  return out;
}

}  // namespace

TEST_CASE("session ids are 26-character Crockford ULIDs with a millisecond time prefix", "[sdk][ids]") {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    auto before = static_cast<std::uint64_t>(now_unix_us() / 1000);
    std::string id = new_ulid();
    auto after = static_cast<std::uint64_t>(now_unix_us() / 1000);
    REQUIRE(id.size() == 26);
    REQUIRE(id.find_first_not_of(kCrockford) == std::string::npos);
    std::uint64_t ms = decode_ulid_time(id);
    REQUIRE(ms >= before);
    REQUIRE(ms <= after);
    seen.insert(id);
  }
  CHECK(seen.size() == 2000);
}

TEST_CASE("nonces are 8 lowercase hex digits", "[sdk][ids]") {
  std::regex hex8("^[0-9a-f]{8}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string n = new_nonce();
    REQUIRE(std::regex_match(n, hex8));
    seen.insert(n);
  }
  CHECK(seen.size() > 990);  // 32 random bits: collisions in 1000 draws are practically impossible
}

TEST_CASE("span ids are span_ + 32 hex and call ids are 32 hex, all distinct", "[sdk][ids]") {
  std::regex span_re("^span_[0-9a-f]{32}$");
  std::regex hex32("^[0-9a-f]{32}$");
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    std::string s = span_id_string(new_span_id());
    std::string c = new_hex_id();
    REQUIRE(std::regex_match(s, span_re));
    REQUIRE(std::regex_match(c, hex32));
    seen.insert(s.substr(5));
    seen.insert(c);
  }
  CHECK(seen.size() == 10000);
}

TEST_CASE("timestamps always have six fraction digits and a Z", "[sdk][ids]") {
  CHECK(timestamp(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(timestamp(1234567) == "1970-01-01T00:00:01.234567Z");
  CHECK(timestamp(1700000000000000) == "2023-11-14T22:13:20.000000Z");  // whole second: still 6 digits
  CHECK(timestamp(1700000000000001) == "2023-11-14T22:13:20.000001Z");
  CHECK(timestamp(1795293763441411) == "2026-11-21T20:42:43.441411Z");
  CHECK(timestamp(-1) == "1969-12-31T23:59:59.999999Z");
  // The per-thread cache of the last second must not leak into other seconds.
  CHECK(timestamp(1700000000500000) == "2023-11-14T22:13:20.500000Z");
  CHECK(timestamp(1700000061000000) == "2023-11-14T22:14:21.000000Z");
  CHECK(timestamp(1700000000999999) == "2023-11-14T22:13:20.999999Z");
  std::regex format(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$)");
  CHECK(std::regex_match(timestamp(now_unix_us()), format));
}

TEST_CASE("parse_timestamp reads back what the SDK writes, and Python's +00:00 form", "[sdk][ids]") {
  for (std::int64_t us : {std::int64_t{0}, std::int64_t{1764547200123456}, std::int64_t{951782400000001}}) {
    std::string text;
    append_timestamp(text, us);
    CHECK(parse_timestamp(text) == us);
  }
  CHECK(parse_timestamp("2026-01-02T03:04:05Z") == std::int64_t{1767323045} * 1000000);
  CHECK(parse_timestamp("2026-01-02T03:04:05.5+00:00") == std::int64_t{1767323045} * 1000000 + 500000);
  CHECK(parse_timestamp("2026-01-02T03:04:05.123456789Z") == std::int64_t{1767323045} * 1000000 + 123456);
  for (const char* bad : {"", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04:05.Z",
                          "2026-01-02 03:04:05Z", "2026-13-02T03:04:05Z", "2026-01-02T03:04:05+01:00",
                          "2026-01-02T03:04:05Zjunk", "２026-01-02T03:04:05Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_timestamp(bad).has_value());
  }
}

TEST_CASE("parse_timestamp counts every date as the C library's timegm does", "[sdk][ids]") {
  // Year ends, leap days, century years, days past a month's end and second 60 (both roll on).
  const int years[] = {1, 1899, 1900, 1969, 1970, 1999, 2000, 2024, 2026, 2100, 2400, 9999};
  for (const int year : years) {
    for (int month = 1; month <= 12; ++month) {
      for (const int day : {1, 28, 29, 30, 31}) {
        for (const int second : {0, 59, 60}) {
          char text[32];
          std::snprintf(text, sizeof text, "%04d-%02d-%02dT23:59:%02d.000001Z", year, month, day, second);
          struct tm tm {};
          tm.tm_year = year - 1900;
          tm.tm_mon = month - 1;
          tm.tm_mday = day;
          tm.tm_hour = 23;
          tm.tm_min = 59;
          tm.tm_sec = second;
          INFO(text);
          CHECK(parse_timestamp(text) == std::int64_t{timegm(&tm)} * 1000000 + 1);
        }
      }
    }
  }
}

TEST_CASE("spool file names are made safe as the reference does", "[sdk][spool]") {
  CHECK(safe_session_name("sess/a") == "sess_a");
  CHECK(safe_session_name("01M7ZXHNVH2DNQWAR7C5Q4VEFW") == "01M7ZXHNVH2DNQWAR7C5Q4VEFW");
  CHECK(safe_session_name("ok-1.2_3") == "ok-1.2_3");
  CHECK(safe_session_name("a//b  c") == "a_b_c");
  CHECK(safe_session_name("../../etc/passwd") == "etc_passwd");
  CHECK(safe_session_name("..x__") == "x");
  CHECK(safe_session_name("-a-") == "-a-");
  CHECK(safe_session_name("a\xc3\xa9" "b") == "a_b");  // a multi-byte character is one run
  CHECK(safe_session_name("") == "unknown-session");
  CHECK(safe_session_name("///") == "unknown-session");
  CHECK(safe_session_name("._.") == "unknown-session");
  CHECK(safe_session_name("\xc3\xa9") == "unknown-session");
}

TEST_CASE("a session id too long for a file name gets a bounded name of its own", "[sdk][spool]") {
  // Safe names up to 200 bytes are kept as they are.
  CHECK(safe_session_name(std::string(200, 'x')) == std::string(200, 'x'));
  CHECK(safe_session_name("a/" + std::string(198, 'b')) == "a_" + std::string(198, 'b'));
  // Longer ones keep 160 bytes, then '-' and the FNV-1a 64 hash of the whole id in hex. The
  // hash is pinned: files spooled by earlier versions must keep their names.
  CHECK(safe_session_name(std::string(300, 'a')) == std::string(160, 'a') + "-ee7717eba7a17e21");
  CHECK(safe_session_name("../" + std::string(300, 'a')) == std::string(160, 'a') + "-7b635950436f9a7a");
  CHECK(safe_session_name(std::string(201, 'x')).size() == 177);
  std::set<std::string> names;
  for (char last : std::string("abcdefghij")) names.insert(safe_session_name(std::string(299, 'r') + last));
  CHECK(names.size() == 10);
  for (const auto& name : names) CHECK(std::regex_match(name, std::regex("^r{160}-[0-9a-f]{16}$")));
}

TEST_CASE("with_reject_reason puts the reason first, its sorted position in an envelope", "[sdk][spool]") {
  std::string line =
      R"({"idempotency_key":"s:0badcafe:1","payload":{"z":{"_reject_reason":1}},"seq":1,"session_id":"s",)"
      R"("timestamp":"2026-01-01T00:00:00.000000Z","type":"metric"})";
  CHECK(with_reject_reason(line, "http_422") ==
        R"({"_reject_reason":"http_422",)" + line.substr(1));
  CHECK(with_reject_reason(R"({"b":[1,{"c":"}"}]})", "x") == R"({"_reject_reason":"x","b":[1,{"c":"}"}]})");
  CHECK(with_reject_reason("[1]", "x") == "[1]");
  CHECK(with_reject_reason("{}", "x") == R"({"_reject_reason":"x"})");
}

TEST_CASE("with_reject_reason output is the canonical form of the event plus the reason", "[sdk][spool]") {
  std::string line =
      R"({"idempotency_key":"s:0badcafe:1","payload":{"name":"m","value":1.5},"seq":1,"session_id":"s",)"
      R"("timestamp":"2026-01-01T00:00:00.000000Z","type":"metric"})";
  for (std::string reason : {std::string("http_404"), std::string("unknown event type: 'not_real'"),
                             std::string("quote \" backslash \\ tab \t newline \n"),
                             std::string("bell \x07 backspace \b formfeed \f"),
                             std::string("unknown event type: '\xc3\xa9t\xc3\xa9'"),
                             std::string("emoji \xf0\x9f\x98\x80")}) {
    json expected = json::parse(line);
    expected["_reject_reason"] = reason;
    INFO("reason: " << reason);
    CHECK(with_reject_reason(line, reason) == canonical_json(expected));
  }
}
