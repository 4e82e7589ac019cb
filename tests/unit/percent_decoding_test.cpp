// The one percent-decoder (core/percent_decoding.hpp): URL paths, form queries, OTLP headers.
#include <catch2/catch.hpp>

#include "core/percent_decoding.hpp"

using promptetheus::detail::percent_decode;

TEST_CASE("percent decoding: escapes in either case, malformed ones kept, '+' only in forms", "[url]") {
  CHECK(percent_decode("a%2Fb%2fc") == "a/b/c");
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%4") == "%4");
  CHECK(percent_decode("%zz%41") == "%zzA");
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("a+b%2B", /*plus_is_space=*/true) == "a b+");
  CHECK(percent_decode("%00x") == std::string("\0x", 2));
  CHECK(percent_decode("") == "");
}
