// OTLP exporter headers in OpenTelemetry's `k=v,k=v` form (core/otlp_headers.hpp).
#include <catch2/catch.hpp>

#include "core/otlp_headers.hpp"

using promptetheus::detail::parse_otlp_headers;
using Headers = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("otlp headers: members are trimmed and values percent-decoded", "[otlp]") {
  const auto parsed = parse_otlp_headers(" api-key = secret%20value ,x-team=core%2Cai,,authorization=Basic%20YWxhZGRpbjpvcGVu ");
  CHECK(parsed.headers == Headers{{"api-key", "secret value"}, {"x-team", "core,ai"},
                                  {"authorization", "Basic YWxhZGRpbjpvcGVu"}});
  CHECK(parsed.problems.empty());
  // '=' inside a value, an empty value, and a '%' that starts no escape are kept.
  CHECK(parse_otlp_headers("a=b=c,empty=,pct=100%,tail=%4").headers ==
        Headers{{"a", "b=c"}, {"empty", ""}, {"pct", "100%"}, {"tail", "%4"}});
  CHECK(parse_otlp_headers("").headers.empty());
  CHECK(parse_otlp_headers(" , ,").problems.empty());
}

TEST_CASE("otlp headers: members that could not be sent are left out with a reason", "[otlp]") {
  const auto parsed = parse_otlp_headers("novalue,=x,bad name=1,split=a%0D%0AInjected: yes,ok=1");
  CHECK(parsed.headers == Headers{{"ok", "1"}});
  REQUIRE(parsed.problems.size() == 4);
  CHECK(parsed.problems[0] == "header 'novalue' has no '='; left out");
  CHECK(parsed.problems[1] == "header name '' is not a valid HTTP field name; left out");
  CHECK(parsed.problems[2] == "header name 'bad name' is not a valid HTTP field name; left out");
  CHECK(parsed.problems[3] == "header 'split' has a control character in its value; left out");
}
