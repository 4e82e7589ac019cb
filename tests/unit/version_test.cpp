// The version is written once (project(VERSION) in CMakeLists.txt) and reaches the generated
// header, the library and the user agents unchanged.
#include <catch2/catch.hpp>
#include <string>

#include "promptetheus/client.hpp"
#include "promptetheus/version.hpp"
#include "transport/curl_client.hpp"
#include "transport/http_transport.hpp"

TEST_CASE("version() matches the header and the CMake project version") {
  CHECK(std::string(promptetheus::version()) == PROMPTETHEUS_VERSION_STRING);
  CHECK(std::string(promptetheus::version()) == PROMPTETHEUS_PROJECT_VERSION);
  CHECK(std::string(PROMPTETHEUS_VERSION_STRING) ==
        std::to_string(PROMPTETHEUS_VERSION_MAJOR) + "." + std::to_string(PROMPTETHEUS_VERSION_MINOR) + "." +
            std::to_string(PROMPTETHEUS_VERSION_PATCH));
}

TEST_CASE("the SDK's user agent carries the library version") {
  const std::string expected = std::string("promptetheus-cpp/") + promptetheus::version();
  CHECK(promptetheus::detail::CurlOptions{}.user_agent == expected);
  CHECK(promptetheus::detail::HttpTransportConfig{}.user_agent == expected);
}
