// Who is calling the dev server (spec §5 "Auth"): the Authorization header is resolved to a
// principal kind. The dev server has one workspace, so every key maps to ws_dev/proj_dev.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace promptetheus::devserver {

enum class Principal { none, api_key, console, server };

struct Credentials {
  std::vector<std::string> api_keys{"pt_dev_key"};
  std::vector<std::string> console_tokens{"pt_console_token"};
  std::vector<std::string> server_tokens{"pt_server_token"};
};

/// `Bearer <token>` with a case-insensitive scheme and surrounding whitespace stripped, or a bare
/// token. Every configured token is compared in constant time, so neither the response nor its
/// timing tells which part of a guess was right.
Principal authenticate(std::string_view authorization, const Credentials& credentials);

/// Compares in time that depends only on the lengths, not on where the texts differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace promptetheus::devserver
