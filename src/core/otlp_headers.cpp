#include "core/otlp_headers.hpp"

#include "core/percent_decoding.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// An HTTP field name is a token (RFC 9110 §5.6.2).
bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool has_control(std::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) return true;
  }
  return false;
}

}  // namespace

OtlpHeaders parse_otlp_headers(std::string_view list) {
  OtlpHeaders result;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(',', start);
    const std::string_view member =
        trimmed(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    start = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    if (member.empty()) continue;
    const std::size_t equals = member.find('=');
    if (equals == std::string_view::npos) {
      result.problems.push_back("header '" + std::string(member) + "' has no '='; left out");
      continue;
    }
    const std::string name(trimmed(member.substr(0, equals)));
    const std::string value = percent_decode(trimmed(member.substr(equals + 1)));
    if (!is_token(name)) {
      result.problems.push_back("header name '" + name + "' is not a valid HTTP field name; left out");
      continue;
    }
    if (has_control(value)) {
      result.problems.push_back("header '" + name + "' has a control character in its value; left out");
      continue;
    }
    result.headers.emplace_back(name, value);
  }
  return result;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
