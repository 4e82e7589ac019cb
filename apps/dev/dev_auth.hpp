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

/// Whether a bind address can only be reached from this machine: 127.0.0.0/8, ::1 (with or
/// without brackets) and localhost.
bool is_loopback_host(std::string_view host);

/// Whether a request's Host header names this machine (a loopback address or localhost, with or
/// without a port). Reads without a credential also need it, so that a web page on another
/// origin that re-points its own name at 127.0.0.1 (DNS rebinding) is still refused.
bool is_loopback_host_header(std::string_view host_header);

/// Whether a console read (a GET of the console's pages or read routes) may go without a
/// credential: only when the server is bound to a loopback address and the request names a
/// loopback host. Writes and the other read routes always need their credential.
bool console_read_without_credential(std::string_view bind_host, std::string_view host_header);

/// Compares in time that depends only on the lengths, not on where the texts differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace promptetheus::devserver
