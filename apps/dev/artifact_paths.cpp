#include "dev/artifact_paths.hpp"

#include <cctype>
#include <cstdio>

#include "analysis/unicode.hpp"

namespace promptetheus::devserver {

std::string sanitize_artifact_filename(std::string_view filename) {
  // The reference's steps, in its order: backslashes become '/', the name is stripped of
  // (Unicode) whitespace, then its last path component is taken as pathlib does ("dir/" → "dir").
  std::string path(filename);
  for (char& c : path) {
    if (c == '\\') c = '/';
  }
  std::string_view stripped = analysis::py_strip(path);
  while (!stripped.empty() && stripped.back() == '/') stripped.remove_suffix(1);
  const auto slash = stripped.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? stripped : stripped.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") return "artifact.bin";

  // Every code point that is not alphanumeric (Python's str.isalnum) and not one of "._-"
  // becomes one '_'.
  std::string out;
  for (std::size_t i = 0; i < base.size();) {
    const std::size_t start = i;
    const char32_t c = analysis::next_code_point(base, i);
    if (analysis::py_isword(c) || c == U'.' || c == U'-') {
      out.append(base, start, i - start);
    } else {
      out += '_';
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
