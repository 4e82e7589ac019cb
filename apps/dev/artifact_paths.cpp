#include "dev/artifact_paths.hpp"

#include <cctype>
#include <cstdio>

#include "core/event_validation.hpp"

namespace promptetheus::devserver {
namespace {

bool is_ascii_word_or_dot_dash(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == '.' || c == '-';
}

// Length in bytes of the valid UTF-8 sequence of a printable non-ASCII character at s[i], or 0.
// Printability is judged by the same approximation as Python's repr (core/event_validation).
std::size_t printable_utf8_length(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (length == 0 || i + length > s.size()) return 0;
  const std::string one(s.substr(i, length));
  // A printable character is reproduced verbatim between the quotes of its repr.
  return promptetheus::detail::python_str_repr(one) == "'" + one + "'" ? length : 0;
}

}  // namespace

std::string sanitize_artifact_filename(std::string_view filename) {
  std::string path(filename);
  for (char& c : path) {
    if (c == '\\') c = '/';
  }
  const auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") return "artifact.bin";

  std::string out;
  for (std::size_t i = 0; i < base.size();) {
    const auto c = static_cast<unsigned char>(base[i]);
    if (c < 0x80) {
      out += is_ascii_word_or_dot_dash(c) ? static_cast<char>(c) : '_';
      ++i;
    } else if (const std::size_t length = printable_utf8_length(base, i)) {
      out.append(base, i, length);
      i += length;
    } else {
      out += '_';
      ++i;
    }
  }
  constexpr std::size_t kMaxBytes = 200;
  if (out.size() > kMaxBytes) {
    std::size_t cut = kMaxBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string safe_path_segment(std::string_view id) {
  std::string out;
  for (const char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '_' || c == '-') {
      out += ch;
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      out += escaped;
    }
  }
  return out.empty() ? "%00" : out;
}

}  // namespace promptetheus::devserver
