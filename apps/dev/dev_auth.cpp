#include "dev/dev_auth.hpp"

#include <cctype>

namespace promptetheus::devserver {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool starts_with_bearer(std::string_view s) {
  constexpr std::string_view kScheme = "bearer ";
  if (s.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != kScheme[i]) return false;
  }
  return true;
}

// Checks every candidate without stopping at a match, so the time taken does not reveal which
// list (or which entry) matched.
bool matches_any(std::string_view token, const std::vector<std::string>& candidates) {
  bool found = false;
  for (const std::string& candidate : candidates) {
    found |= constant_time_equal(token, candidate);
  }
  return found;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned difference = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    difference |= static_cast<unsigned>(x ^ y);
  }
  return difference == 0;
}

Principal authenticate(std::string_view authorization, const Credentials& credentials) {
  std::string_view token = trim(authorization);
  if (starts_with_bearer(token)) token = trim(token.substr(7));
  if (token.empty()) return Principal::none;
  const bool api_key = matches_any(token, credentials.api_keys);
  const bool console = matches_any(token, credentials.console_tokens);
  const bool server = matches_any(token, credentials.server_tokens);
  if (api_key) return Principal::api_key;
  if (console) return Principal::console;
  if (server) return Principal::server;
  return Principal::none;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  if (host.rfind("127.", 0) != 0) return false;
  // Four dotted decimal parts, each 0-255.
  int parts = 0;
  std::size_t i = 0;
  while (i <= host.size()) {
    std::size_t j = i;
    int value = 0;
    while (j < host.size() && host[j] >= '0' && host[j] <= '9' && j - i < 3) {
      value = value * 10 + (host[j] - '0');
      ++j;
    }
    if (j == i || value > 255) return false;
    ++parts;
    if (j == host.size()) break;
    if (host[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

bool is_loopback_host_header(std::string_view host_header) {
  std::string_view host = trim(host_header);
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    host = host.substr(0, close + 1);
  } else {
    const auto colon = host.find(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  std::string lower;
  for (char c : host) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return is_loopback_host(lower);
}

bool console_read_without_credential(std::string_view bind_host, std::string_view host_header) {
  return is_loopback_host(bind_host) && is_loopback_host_header(host_header);
}

}  // namespace promptetheus::devserver
