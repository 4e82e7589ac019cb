#include "toml_table_edit.hpp"

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "core/utf8.hpp"

namespace promptetheus::cli {

using detail::append_utf8;

namespace {

// A line of the file as the editor sees it. Only lines that start outside a multi-line value
// can be table headers: a "[x]" line inside a multi-line string or array is data.
struct ScannedLine {
  enum class Kind { blank, header, key_value, continuation } kind = Kind::blank;
  std::size_t begin = 0;  // offset of the first byte
  std::size_t next = 0;   // offset of the next line (after the '\n', or the end of the text)
  std::vector<std::string> keys;  // the header's table, or the key of a key = value line
  bool array_table = false;       // [[...]]
};

struct ScanError {
  std::string message;
};

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

class LineScanner {
 public:
  explicit LineScanner(const std::string& text) : text_(text) {}

  std::vector<ScannedLine> scan() {
    std::vector<ScannedLine> lines;
    std::size_t begin = 0;
    while (begin < text_.size()) {
      ++number_;
      const std::size_t newline = text_.find('\n', begin);
      const std::size_t end = newline == std::string::npos ? text_.size() : newline;
      std::string_view line(text_.data() + begin, end - begin);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ScannedLine scanned = classify(line);
      scanned.begin = begin;
      scanned.next = newline == std::string::npos ? text_.size() : newline + 1;
      begin = scanned.next;
      lines.push_back(std::move(scanned));
    }
    if (multiline_ != Multiline::none) fail("a multi-line string is not closed");
    if (depth_ != 0) fail("an array or inline table is not closed");
    return lines;
  }

 private:
  enum class Multiline { none, basic, literal };

  [[noreturn]] void fail(const std::string& what) const {
    throw ScanError{"line " + std::to_string(number_) + ": " + what};
  }

  static std::size_t skip_space(std::string_view s, std::size_t i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return i;
  }

  ScannedLine classify(std::string_view line) {
    ScannedLine scanned;
    if (multiline_ != Multiline::none || depth_ > 0) {
      scanned.kind = ScannedLine::Kind::continuation;
      scan_value(line, 0);
      return scanned;
    }
    std::size_t i = skip_space(line, 0);
    if (i == line.size() || line[i] == '#') return scanned;
    if (line[i] == '[') {
      scanned.kind = ScannedLine::Kind::header;
      scanned.array_table = i + 1 < line.size() && line[i + 1] == '[';
      i += scanned.array_table ? 2 : 1;
      i = parse_key(line, i, scanned.keys);
      for (int closing = scanned.array_table ? 2 : 1; closing > 0; --closing) {
        if (i >= line.size() || line[i] != ']') fail("a table header is not closed with ]");
        ++i;
      }
      i = skip_space(line, i);
      if (i < line.size() && line[i] != '#') fail("unexpected text after a table header");
      return scanned;
    }
    scanned.kind = ScannedLine::Kind::key_value;
    i = parse_key(line, i, scanned.keys);
    if (i >= line.size() || line[i] != '=') fail("expected a table header or key = value");
    i = skip_space(line, i + 1);
    if (i == line.size() || line[i] == '#') fail("a key has no value");
    scan_value(line, i);
    return scanned;
  }

  // A dotted key (bare, "basic" or 'literal' parts); returns the offset after it and its spaces.
  std::size_t parse_key(std::string_view s, std::size_t i, std::vector<std::string>& keys) {
    for (;;) {
      i = skip_space(s, i);
      std::string part;
      if (i < s.size() && s[i] == '"') {
        i = parse_basic_string(s, i + 1, part);
      } else if (i < s.size() && s[i] == '\'') {
        const std::size_t close = s.find('\'', i + 1);
        if (close == std::string_view::npos) fail("a quoted key is not closed");
        part.assign(s.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        const std::size_t start = i;
        while (i < s.size() && is_bare_key_char(s[i])) ++i;
        if (i == start) fail("expected a key");
        part.assign(s.substr(start, i - start));
      }
      keys.push_back(std::move(part));
      i = skip_space(s, i);
      if (i < s.size() && s[i] == '.') {
        ++i;
        continue;
      }
      return i;
    }
  }

  // A one-line basic string from just after its opening quote; returns the offset after the
  // closing quote.
  std::size_t parse_basic_string(std::string_view s, std::size_t i, std::string& out) {
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') return i + 1;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= s.size()) break;
      const char e = s[i + 1];
      i += 2;
      switch (e) {
        case 'b': out += '\b'; break;
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'f': out += '\f'; break;
        case 'r': out += '\r'; break;
        case 'e': out += '\x1b'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'u':
        case 'U': {
          const std::size_t digits = e == 'u' ? 4 : 8;
          if (i + digits > s.size()) fail("a \\u escape is cut short");
          std::uint32_t cp = 0;
          for (std::size_t k = 0; k < digits; ++k) {
            const char h = s[i + k];
            const int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (v < 0) fail("a \\u escape has a non-hex digit");
            cp = cp * 16 + static_cast<std::uint32_t>(v);
          }
          append_utf8(out, cp);
          i += digits;
          break;
        }
        default:
          fail("unknown escape in a string");
      }
    }
    fail("a string is not closed");
  }

  // Follows strings, comments and brackets through a value so that the next line is known to
  // start inside or outside a multi-line value.
  void scan_value(std::string_view s, std::size_t i) {
    while (i < s.size()) {
      if (multiline_ == Multiline::basic) {
        if (s[i] == '\\') {
          i += 2;
        } else if (s.compare(i, 3, "\"\"\"") == 0) {
          multiline_ = Multiline::none;
          i += 3;
          while (i < s.size() && s[i] == '"') ++i;  // up to two quotes may end the content
        } else {
          ++i;
        }
        continue;
      }
      if (multiline_ == Multiline::literal) {
        if (s.compare(i, 3, "'''") == 0) {
          multiline_ = Multiline::none;
          i += 3;
          while (i < s.size() && s[i] == '\'') ++i;
        } else {
          ++i;
        }
        continue;
      }
      const char c = s[i];
      if (c == '#') return;
      if (c == '"') {
        if (s.compare(i, 3, "\"\"\"") == 0) {
          multiline_ = Multiline::basic;
          i += 3;
        } else {
          std::string ignored;
          i = parse_basic_string(s, i + 1, ignored);
        }
      } else if (c == '\'') {
        if (s.compare(i, 3, "'''") == 0) {
          multiline_ = Multiline::literal;
          i += 3;
        } else {
          const std::size_t close = s.find('\'', i + 1);
          if (close == std::string_view::npos) fail("a string is not closed");
          i = close + 1;
        }
      } else {
        if (c == '[' || c == '{') ++depth_;
        if (c == ']' || c == '}') {
          if (depth_ == 0) fail("unbalanced ] or }");
          --depth_;
        }
        ++i;
      }
    }
  }

  const std::string& text_;
  int number_ = 0;
  Multiline multiline_ = Multiline::none;
  int depth_ = 0;
};

bool starts_with(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
  if (path.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (path[i] != prefix[i]) return false;
  }
  return true;
}

std::string dotted(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out += '.';
    out += toml_key(key);
  }
  return out;
}

}  // namespace

std::string toml_basic_string(const std::string& value) {
  std::string out = "\"";
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04X", c);
          out += escaped;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string toml_key(const std::string& key) {
  bool bare = !key.empty();
  for (const char c : key) bare = bare && is_bare_key_char(c);
  return bare ? key : toml_basic_string(key);
}

TomlTableEdit set_toml_table(const std::string& text, const std::vector<std::string>& keys,
                             const std::string& body_lines) {
  TomlTableEdit edit;
  std::vector<ScannedLine> lines;
  try {
    lines = LineScanner(text).scan();
  } catch (const ScanError& e) {
    edit.error = "not valid TOML at " + e.message;
    return edit;
  }

  const std::string name = "[" + dotted(keys) + "]";
  std::size_t header = lines.size();
  std::vector<std::string> table;  // the table the current line belongs to
  bool in_target = false;          // the current table is ours or one of its subtables
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const ScannedLine& line = lines[i];
    const std::string where = "line " + std::to_string(i + 1) + ": ";
    if (line.kind == ScannedLine::Kind::header) {
      table = line.keys;
      in_target = starts_with(table, keys);
      if (line.keys == keys) {
        if (line.array_table) {
          edit.error = where + name + " is an array of tables here; edit it by hand";
          return edit;
        }
        if (header != lines.size()) {
          edit.error = where + name + " is defined twice";
          return edit;
        }
        header = i;
      }
    } else if (line.kind == ScannedLine::Kind::key_value && !in_target) {
      // A dotted key or an inline table that defines our table (or the table holding it as a
      // value) cannot coexist with a [table] header: appending one would break the file.
      std::vector<std::string> full = table;
      full.insert(full.end(), line.keys.begin(), line.keys.end());
      if (starts_with(full, keys) || starts_with(keys, full)) {
        edit.error = where + name + " is defined with a dotted key or an inline table; edit it by hand";
        return edit;
      }
    }
  }

  if (header == lines.size()) {
    edit.text = text;
    if (!edit.text.empty() && edit.text.back() != '\n') edit.text += '\n';
    if (!edit.text.empty()) edit.text += '\n';
    edit.text += name + "\n" + body_lines;
    edit.change = TomlTableChange::added;
    return edit;
  }

  std::size_t end = header + 1;
  while (end < lines.size() && lines[end].kind != ScannedLine::Kind::header) ++end;
  // Blank and comment lines just before the next header usually introduce it: they stay.
  if (end < lines.size()) {
    while (end > header + 1 && lines[end - 1].kind == ScannedLine::Kind::blank) --end;
  }
  std::string prefix = text.substr(0, lines[header].next);
  if (prefix.back() != '\n') prefix += '\n';
  const std::size_t rest = end < lines.size() ? lines[end].begin : text.size();
  edit.text = prefix + body_lines + text.substr(rest);
  edit.change = edit.text == text ? TomlTableChange::unchanged : TomlTableChange::updated;
  return edit;
}

}  // namespace promptetheus::cli
