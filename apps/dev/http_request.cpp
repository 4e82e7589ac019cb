#include "dev/http_request.hpp"

#include <algorithm>
#include <cctype>

namespace promptetheus::devserver {

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim_view(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// A token character (RFC 9110 §5.6.2): what methods and field names are made of.
bool is_token_char(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); });
}

// Control characters other than tab are refused in header values; bytes above 0x7F (obs-text)
// are kept as they are.
bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7F;
  });
}

// A request target has no spaces or control characters. Bytes above 0x7F are kept: some clients
// send UTF-8 unencoded, and the router only ever compares decoded segments.
bool is_target(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7F;
  });
}

}  // namespace

const std::string* Headers::find(std::string_view name) const {
  for (const Field& field : fields_) {
    if (equals_ignoring_case(field.first, name)) return &field.second;
  }
  return nullptr;
}

std::vector<std::string> Headers::all(std::string_view name) const {
  std::vector<std::string> values;
  for (const Field& field : fields_) {
    if (equals_ignoring_case(field.first, name)) values.push_back(field.second);
  }
  return values;
}

void Headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& field) { return equals_ignoring_case(field.first, name); }),
                fields_.end());
}

bool has_token(const std::string& list, std::string_view token) {
  std::string_view rest = list;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    if (equals_ignoring_case(trim_view(rest.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

std::string Request::get_header_value(std::string_view name) const {
  const std::string* value = headers.find(name);
  return value ? *value : std::string();
}

void Response::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  set_header("Content-Type", std::move(content_type));
}

std::optional<HttpError> parse_request_line(std::string_view line, Request& out) {
  const HttpError malformed{400, "malformed request line"};
  // method SP request-target SP HTTP-version, with exactly one space between them.
  const auto first_space = line.find(' ');
  if (first_space == std::string_view::npos) return malformed;
  const auto second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return malformed;
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!is_token(method) || !is_target(target)) return malformed;

  // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive).
  const bool well_formed = version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                           std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
                           std::isdigit(static_cast<unsigned char>(version[7]));
  if (!well_formed) return malformed;
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return HttpError{505, "HTTP version not supported"};
  }
  out.method = std::string(method);
  out.target = std::string(target);
  out.minor_version = version[7] - '0';
  return std::nullopt;
}

std::optional<HttpError> parse_header_line(std::string_view line, Headers& out) {
  const HttpError malformed{400, "malformed header line"};
  // A line starting with whitespace continues the previous field (obsolete folding): refused,
  // as RFC 9112 §5.2 allows. So is whitespace between the name and the colon (§5.1).
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return malformed;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim_view(line.substr(colon + 1));
  if (!is_token(name) || !is_field_value(value)) return malformed;
  out.add(std::string(name), std::string(value));
  return std::nullopt;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace promptetheus::devserver
