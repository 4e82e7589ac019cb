#include "analysis/fingerprint.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "analysis/pyrepr.hpp"
#include "analysis/unicode.hpp"
#include "core/sha256.hpp"

namespace promptetheus::analysis {

namespace {

using U32 = std::u32string;

bool is_hex_digit(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_path_char(char32_t c) { return c == '.' || c == '-' || py_isword(c); }

void append_ascii(U32& out, std::string_view s) {
  for (char ch : s) out.push_back(static_cast<char32_t>(ch));
}

/// Step 2: 0x[0-9a-fA-F]+ → 0xADDR.
U32 replace_hex_addresses(const U32& s) {
  U32 out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '0' && i + 2 < s.size() && s[i + 1] == 'x' && is_hex_digit(s[i + 2])) {
      i += 2;
      while (i < s.size() && is_hex_digit(s[i])) ++i;
      append_ascii(out, "0xADDR");
      continue;
    }
    out.push_back(s[i++]);
  }
  return out;
}

/// Step 3: \b[0-9a-fA-F]{8,}\b → HEX. Between two hex digits (both \w) there is never a word
/// boundary, so a match is always a whole run of hex digits with non-word characters (or the
/// ends) on both sides.
U32 replace_hex_words(const U32& s) {
  U32 out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_hex_digit(s[i]) && (i == 0 || !py_isword(s[i - 1]))) {
      std::size_t j = i;
      while (j < s.size() && is_hex_digit(s[j])) ++j;
      if (j - i >= 8 && (j == s.size() || !py_isword(s[j]))) {
        append_ascii(out, "HEX");
        i = j;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

/// Step 4: (/[\w.\-]+)+ → PATH.
U32 replace_paths(const U32& s) {
  U32 out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '/' && i + 1 < s.size() && is_path_char(s[i + 1])) {
      std::size_t j = i;
      while (j + 1 < s.size() && s[j] == '/' && is_path_char(s[j + 1])) {
        ++j;
        while (j < s.size() && is_path_char(s[j])) ++j;
      }
      append_ascii(out, "PATH");
      i = j;
      continue;
    }
    out.push_back(s[i++]);
  }
  return out;
}

/// Step 5: (['"]).*?\1 → STR ('.' does not cross '\n').
U32 replace_quoted(const U32& s) {
  U32 out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\'' || s[i] == '"') {
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != s[i] && s[j] != '\n') ++j;
      if (j < s.size() && s[j] == s[i]) {
        append_ascii(out, "STR");
        i = j + 1;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

/// Steps 6 and 7: \d+ → N, then \s+ → ' '.
U32 replace_runs(const U32& s, bool (*in_class)(char32_t) noexcept, char32_t replacement) {
  U32 out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (in_class(s[i])) {
      while (i < s.size() && in_class(s[i])) ++i;
      out.push_back(replacement);
      continue;
    }
    out.push_back(s[i++]);
  }
  return out;
}

struct Collector {
  std::vector<std::string> parts;
  std::vector<std::string> labels;
  std::unordered_set<std::string> seen_labels;

  void add(std::string part, std::string label) {
    parts.push_back(std::move(part));
    if (seen_labels.insert(label).second) labels.push_back(std::move(label));
  }
};

/// str(first truthy of the values) or the fallback.
std::string first_truthy_str(std::initializer_list<JsonView> values, std::string_view fallback) {
  for (const JsonView& v : values) {
    if (py_truthy(v)) return pystr(v);
  }
  return std::string(fallback);
}

std::string prefix48(const std::string& s) { return std::string(code_point_prefix(s, 48)); }

}  // namespace

std::string fingerprint_norm(std::string_view s) {
  U32 t = to_u32(py_strip(s));
  t = replace_hex_addresses(t);
  t = replace_hex_words(t);
  t = replace_paths(t);
  t = replace_quoted(t);
  t = replace_runs(t, &py_isdecimal, U'N');
  t = replace_runs(t, &py_isspace, U' ');
  const std::string lowered = py_lower(to_utf8(t));
  return std::string(code_point_prefix(lowered, 200));
}

std::optional<std::string> fingerprint_error_kind(std::string_view s) {
  const U32 t = to_u32(s);
  std::size_t i = 0;
  while (i < t.size() && py_isspace(t[i])) ++i;
  if (i >= t.size()) return std::nullopt;
  const char32_t first = t[i];
  const bool first_ok = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_';
  if (!first_ok) return std::nullopt;
  // [\w.]* is greedy; backtrack from the end of the run to the longest prefix that ends with
  // the suffix and is followed by a word boundary (the suffix ends in a word character).
  std::size_t run_end = i + 1;
  while (run_end < t.size() && (t[run_end] == '.' || py_isword(t[run_end]))) ++run_end;
  for (const std::u32string_view suffix : {std::u32string_view(U"Error"), std::u32string_view(U"Exception")}) {
    for (std::size_t e = run_end; e >= i + 1 + suffix.size(); --e) {
      if (std::u32string_view(t).substr(e - suffix.size(), suffix.size()) != suffix) continue;
      if (e < t.size() && py_isword(t[e])) continue;
      const U32 group = t.substr(i, e - i);
      const std::size_t dot = group.rfind(U'.');
      return to_utf8(dot == U32::npos ? group : group.substr(dot + 1));
    }
  }
  return std::nullopt;
}

struct FingerprintBuilder::State {
  Collector collector;
};

FingerprintBuilder::FingerprintBuilder() : state_(std::make_unique<State>()) {}
FingerprintBuilder::~FingerprintBuilder() = default;

void FingerprintBuilder::add(const Event& e) {
  Collector& c = state_->collector;
  {
    if (!e.is_object() || !e.type.is_string()) return;
    std::string_view type;
    std::string decoded;
    if (!e.type.plain_string(type)) {
      decoded = e.type.as_string();
      type = decoded;
    }
    const JsonView& p = e.payload;  // get() on a non-object yields absent, i.e. {}
    if (type == "error") {
      const std::string msg = first_truthy_str({p.get("message"), p.get("error")}, "error");
      const auto kind = fingerprint_error_kind(msg);
      const std::string n = fingerprint_norm(msg);
      c.add("error:" + kind.value_or("") + ":" + n, "error " + (kind ? *kind : prefix48(n)));
    } else if (type == "tool_result") {
      const JsonView error = p.get("error");
      const JsonView status = p.get("status");
      if (py_truthy(error) || status.string_equals("error") || status.string_equals("failed")) {
        const std::string tool = first_truthy_str({p.get("tool"), p.get("name"), p.get("tool_name")}, "tool");
        const std::string detail = py_truthy(error) ? pystr(error) : std::string("failed");
        c.add("tool_error:" + tool + ":" + fingerprint_norm(detail), "tool " + tool + " failed");
      }
    } else if (type == "goal_check") {
      if (p.get("passed").is_false()) {
        const JsonView mismatches = p.get("mismatches");
        std::string n = "goal not met";
        if (mismatches.is_array() && !mismatches.empty_container()) {
          std::string joined;
          bool first = true;
          mismatches.for_each_element([&](const JsonView& m) {
            if (!first) joined.push_back(' ');
            first = false;
            joined += pystr(m);
          });
          n = fingerprint_norm(joined);
        }
        c.add("goal:" + n, "goal mismatch: " + prefix48(n));
      }
    } else if (type == "session_end") {
      const JsonView status = p.get("status");
      if (status.present() && !status.is_null() && !status.string_equals("completed")) {
        const std::string st = pystr(status);
        c.add("status:" + st, "session " + st);
      }
      const JsonView error = p.get("error");
      if (py_truthy(error)) {
        const std::string n = fingerprint_norm(pystr(error));
        c.add("end_error:" + n, "ended with error " + prefix48(n));
      }
    }
  }
}

Fingerprint FingerprintBuilder::finish() const {
  const Collector& c = state_->collector;
  Fingerprint fp;
  if (c.parts.empty()) return fp;
  std::set<std::string> unique(c.parts.begin(), c.parts.end());
  // UTF-8 byte order equals code point order, so std::string ordering sorts like Python.
  fp.signals.assign(unique.begin(), unique.end());
  std::string canonical;
  for (std::size_t i = 0; i < fp.signals.size(); ++i) {
    if (i) canonical.push_back('|');
    canonical += fp.signals[i];
  }
  fp.is_failure = true;
  fp.fingerprint = detail::sha256_hex(canonical).substr(0, 12);
  fp.label = c.labels.front();
  if (c.labels.size() > 1) fp.label += " (+" + std::to_string(c.labels.size() - 1) + " more)";
  return fp;
}

Fingerprint fingerprint_v1(const std::vector<Event>& events) {
  FingerprintBuilder builder;
  for (const Event& e : events) builder.add(e);
  return builder.finish();
}

}  // namespace promptetheus::analysis
