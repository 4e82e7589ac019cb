#include "analysis/pyrepr.hpp"

#include <charconv>
#include <cmath>
#include <unordered_map>

#include "analysis/unicode.hpp"
#include "core/json_writer.hpp"

namespace promptetheus::analysis {

namespace {

const char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, unsigned value, int digits) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kHex[(value >> shift) & 0xF]);
}

/// Python int(<integer literal>) printed back: the literal itself, except "-0".
void append_int_literal(std::string& out, std::string_view raw) {
  if (raw == "-0") {
    out.push_back('0');
  } else {
    out.append(raw);
  }
}

void append_float_token(std::string& out, const JsonView& v, bool json_style) {
  if (v.is_integer_literal()) {
    append_int_literal(out, v.raw());
    return;
  }
  const double d = v.as_double();
  if (json_style && std::isnan(d)) {
    out += "NaN";
  } else if (json_style && std::isinf(d)) {
    out += d > 0 ? "Infinity" : "-Infinity";
  } else {
    out += py_float_repr(d);
  }
}

}  // namespace

std::string py_float_repr(double v) {
  std::string out;
  detail::write_python_float(out, v);
  return out;
}

std::string py_str_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back(quote);
  std::size_t i = 0;
  while (i < s.size()) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if (byte >= 0x20 && byte < 0x7F) {
      if (byte == static_cast<unsigned char>(quote) || byte == '\\') out.push_back('\\');
      out.push_back(static_cast<char>(byte));
      ++i;
      continue;
    }
    const std::size_t start = i;
    const char32_t cp = next_code_point(s, i);
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x80) {
      out += "\\x";
      append_hex(out, cp, 2);
    } else if (py_isprintable(cp)) {
      out.append(s.data() + start, i - start);
    } else if (cp <= 0xFF) {
      out += "\\x";
      append_hex(out, cp, 2);
    } else if (cp <= 0xFFFF) {
      out += "\\u";
      append_hex(out, cp, 4);
    } else {
      out += "\\U";
      append_hex(out, cp, 8);
    }
  }
  out.push_back(quote);
  return out;
}

std::vector<std::pair<JsonView, JsonView>> dict_members(const JsonView& object) {
  std::vector<std::pair<JsonView, JsonView>> members;
  bool may_repeat = false;
  object.for_each_member([&](const JsonView& k, const JsonView& v) {
    members.emplace_back(k, v);
  });
  if (members.size() < 2) return members;
  // Repeated keys are rare: detect them cheaply before paying for a map.
  std::unordered_map<std::string, std::size_t> first;
  first.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto [it, inserted] = first.emplace(members[i].first.as_string(), i);
    if (!inserted) {
      members[it->second].second = members[i].second;
      members[i].first = JsonView();
      may_repeat = true;
    }
  }
  if (may_repeat) {
    std::vector<std::pair<JsonView, JsonView>> unique;
    for (auto& m : members) {
      if (m.first.present()) unique.push_back(m);
    }
    return unique;
  }
  return members;
}

void append_pyrepr(std::string& out, const JsonView& v) {
  switch (v.kind()) {
    case JsonKind::absent:
    case JsonKind::null:
      out += "None";
      return;
    case JsonKind::boolean:
      out += v.is_true() ? "True" : "False";
      return;
    case JsonKind::number:
      append_float_token(out, v, false);
      return;
    case JsonKind::string: {
      std::string_view body;
      out += v.plain_string(body) ? py_str_repr(body) : py_str_repr(v.as_string());
      return;
    }
    case JsonKind::array: {
      out.push_back('[');
      bool first = true;
      v.for_each_element([&](const JsonView& e) {
        if (!first) out += ", ";
        first = false;
        append_pyrepr(out, e);
      });
      out.push_back(']');
      return;
    }
    case JsonKind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, val] : dict_members(v)) {
        if (!first) out += ", ";
        first = false;
        append_pyrepr(out, k);
        out += ": ";
        append_pyrepr(out, val);
      }
      out.push_back('}');
      return;
    }
  }
}

std::string pyrepr(const JsonView& v) {
  std::string out;
  append_pyrepr(out, v);
  return out;
}

std::string pystr(const JsonView& v) {
  if (v.is_string()) return v.as_string();
  return pyrepr(v);
}

bool py_truthy(const JsonView& v) {
  switch (v.kind()) {
    case JsonKind::absent:
    case JsonKind::null:
      return false;
    case JsonKind::boolean:
      return v.is_true();
    case JsonKind::number:
      if (v.is_integer_literal()) {
        for (char ch : v.raw()) {
          if (ch >= '1' && ch <= '9') return true;
        }
        return false;
      }
      return v.as_double() != 0.0;  // NaN is truthy, as in Python
    case JsonKind::string:
      return v.raw().size() > 2;
    case JsonKind::array:
    case JsonKind::object:
      return !v.empty_container();
  }
  return false;
}

void append_json_string(std::string& out, std::string_view s) {
  // Strings decoded from JSON may hold lone surrogates (from `\ud800` escapes), which
  // json.dumps writes as such: read them with next_code_point, whose U+FFFD for a malformed
  // byte is what the writer writes too.
  detail::write_json_string(out, s, [](std::string_view text, std::size_t i, std::uint32_t& cp) noexcept {
    std::size_t next = i;
    cp = next_code_point(text, next);
    return next - i;
  });
}

void append_json_dump(std::string& out, const JsonView& v, int level) {
  auto newline = [&out](int lvl) {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(lvl) * 2, ' ');
  };
  switch (v.kind()) {
    case JsonKind::absent:
    case JsonKind::null:
      out += "null";
      return;
    case JsonKind::boolean:
      out += v.is_true() ? "true" : "false";
      return;
    case JsonKind::number:
      append_float_token(out, v, true);
      return;
    case JsonKind::string: {
      std::string_view body;
      if (v.plain_string(body)) {
        append_json_string(out, body);
      } else {
        append_json_string(out, v.as_string());
      }
      return;
    }
    case JsonKind::array: {
      if (v.empty_container()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      v.for_each_element([&](const JsonView& e) {
        if (!first) out.push_back(',');
        first = false;
        newline(level + 1);
        append_json_dump(out, e, level + 1);
      });
      newline(level);
      out.push_back(']');
      return;
    }
    case JsonKind::object: {
      if (v.empty_container()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (const auto& [k, val] : dict_members(v)) {
        if (!first) out.push_back(',');
        first = false;
        newline(level + 1);
        append_json_string(out, k.as_string());
        out += ": ";
        append_json_dump(out, val, level + 1);
      }
      newline(level);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace promptetheus::analysis
