#include "analysis/script_safe_json.hpp"

#include <array>

namespace promptetheus::analysis {

namespace {

// The bytes that may start something to escape.
constexpr std::array<bool, 256> may_escape_table() {
  std::array<bool, 256> table{};
  for (const unsigned char c : {'<', '>', '&', '\xE2'}) table[c] = true;
  return table;
}
constexpr std::array<bool, 256> kMayEscape = may_escape_table();

}  // namespace

void append_script_safe_json(std::string& out, std::string_view text) {
  std::size_t done = 0;  // text[..done) is in `out`
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!kMayEscape[static_cast<unsigned char>(c)]) continue;
    const char* escape = nullptr;
    std::size_t length = 1;
    if (c == '<') {
      escape = "\\u003c";
    } else if (c == '>') {
      escape = "\\u003e";
    } else if (c == '&') {
      escape = "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      escape = text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      length = 3;
    }
    if (!escape) continue;
    out.append(text, done, i - done);
    out += escape;
    i += length - 1;
    done = i + 1;
  }
  out.append(text, done, std::string_view::npos);
}

}  // namespace promptetheus::analysis
