#include "core/json_view.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/json_writer.hpp"
#include "core/utf8.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

// ---- parsing ---------------------------------------------------------------------------

class JsonView::Parser {
 public:
  Parser(JsonView& view, std::string_view text, int max_depth) : view_(view), text_(text), max_depth_(max_depth) {}

  bool document() {
    skip_whitespace();
    if (!value(0)) return false;
    skip_whitespace();
    return pos_ == text_.size();
  }

 private:
  JsonView& view_;
  std::string_view text_;
  std::size_t pos_ = 0;
  int max_depth_;

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\n' || peek() == '\r' || peek() == '\t')) ++pos_;
  }

  std::uint32_t add(Kind kind) {
    view_.nodes_.emplace_back();
    view_.nodes_.back().kind = kind;
    return static_cast<std::uint32_t>(view_.nodes_.size() - 1);
  }

  void close(std::uint32_t index, std::size_t start) {
    Node& node = view_.nodes_[index];
    node.next = static_cast<std::uint32_t>(view_.nodes_.size());
    node.text = text_.substr(start, pos_ - start);
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool value(int depth) {
    if (at_end()) return false;
    const std::size_t start = pos_;
    switch (peek()) {
      case '{': return container(depth + 1, Kind::object);
      case '[': return container(depth + 1, Kind::array);
      case '"': return string();
      case 't':
      case 'f': {
        const bool b = peek() == 't';
        if (!literal(b ? "true" : "false")) return false;
        const std::uint32_t index = add(Kind::boolean);
        view_.nodes_[index].number.b = b;
        close(index, start);
        return true;
      }
      case 'n': {
        if (!literal("null")) return false;
        close(add(Kind::null), start);
        return true;
      }
      default: return number();
    }
  }

  bool digits() {
    const std::size_t from = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
    return pos_ > from;
  }

  bool number() {
    const std::size_t start = pos_;
    if (!at_end() && peek() == '-') ++pos_;
    if (at_end()) return false;
    if (peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return false;
    }
    bool integral = true;
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (!digits()) return false;
      integral = false;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (!digits()) return false;
      integral = false;
    }
    const std::uint32_t index = add(Kind::floating);
    close(index, start);
    Node& node = view_.nodes_[index];
    const char* first = node.text.data();
    const char* last = first + node.text.size();
    if (integral) {
      // As nlohmann::json: negative integers are signed, the others unsigned, and an integer too
      // large for 64 bits is a float.
      if (*first == '-') {
        auto [end, ec] = std::from_chars(first, last, node.number.i);
        if (ec == std::errc() && end == last) {
          node.kind = Kind::integer;
          return true;
        }
      } else {
        auto [end, ec] = std::from_chars(first, last, node.number.u);
        if (ec == std::errc() && end == last) {
          node.kind = Kind::unsigned_integer;
          return true;
        }
      }
    }
    auto [end, ec] = std::from_chars(first, last, node.number.d);
    if (ec == std::errc::result_out_of_range) {
      // As nlohmann::json (which reads numbers with strtod): a number too small for a double is
      // what strtod makes of it (0 or a subnormal), one too large is refused.
      node.number.d = std::strtod(std::string(node.text).c_str(), nullptr);
      return std::isfinite(node.number.d);
    }
    return ec == std::errc() && end == last;
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(std::uint32_t& out) {
    if (text_.size() - pos_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_digit(text_[pos_ + static_cast<std::size_t>(i)]);
      if (d < 0) return false;
      out = out * 16 + static_cast<std::uint32_t>(d);
    }
    pos_ += 4;
    return true;
  }

  // The rest of a string with escapes, from the first backslash, decoded into `out`.
  bool escaped_rest(std::string& out) {
    while (!at_end()) {
      const char c = peek();
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      ++pos_;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) return false;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate alone
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (!literal("\\u") || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  bool string() {
    const std::size_t start = pos_++;
    bool plain = true;
    while (!at_end()) {
      const auto c = static_cast<unsigned char>(peek());
      if (c == '"' || c == '\\') break;
      if (c < 0x20) return false;
      if (c >= 0x7F) plain = false;
      ++pos_;
    }
    if (at_end()) return false;
    const std::uint32_t index = add(Kind::string);
    if (peek() == '"') {
      ++pos_;
      close(index, start);
      Node& node = view_.nodes_[index];
      node.value = node.text.substr(1, node.text.size() - 2);
      node.plain = plain;
      return true;
    }
    std::string& decoded = view_.decoded_.emplace_back(text_.substr(start + 1, pos_ - start - 1));
    if (!escaped_rest(decoded)) return false;
    ++pos_;  // the closing quote
    close(index, start);
    view_.nodes_[index].value = decoded;
    return true;
  }

  // An array or an object: `[value, ...]` or `{"key": value, ...}` (a member is two nodes).
  bool container(int depth, Kind kind) {
    if (depth > max_depth_) return false;
    const bool is_object = kind == Kind::object;
    const char close_mark = is_object ? '}' : ']';
    const std::size_t start = pos_++;
    const std::uint32_t index = add(kind);
    std::uint32_t count = 0;
    skip_whitespace();
    if (!at_end() && peek() == close_mark) {
      ++pos_;
    } else {
      for (;;) {
        skip_whitespace();
        if (is_object) {
          if (at_end() || peek() != '"' || !string()) return false;
          skip_whitespace();
          if (at_end() || peek() != ':') return false;
          ++pos_;
          skip_whitespace();
        }
        if (!value(depth)) return false;
        ++count;
        skip_whitespace();
        if (at_end()) return false;
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() != close_mark) return false;
        ++pos_;
        break;
      }
    }
    view_.nodes_[index].count = count;
    close(index, start);
    return true;
  }
};

bool JsonView::parse(std::string_view text, int max_depth) {
  nodes_.clear();
  decoded_.clear();
  if (text.size() >= std::numeric_limits<std::uint32_t>::max()) return false;
  Parser parser(*this, text, max_depth);
  if (parser.document()) return true;
  nodes_.clear();
  decoded_.clear();
  return false;
}

// ---- reading ---------------------------------------------------------------------------

JsonView::Kind JsonView::Ref::kind() const noexcept { return view_ ? view_->nodes_[index_].kind : Kind::null; }

bool JsonView::Ref::is_number() const noexcept {
  const Kind k = kind();
  return view_ && (k == Kind::integer || k == Kind::unsigned_integer || k == Kind::floating);
}

std::string_view JsonView::Ref::text() const noexcept { return view_ ? view_->nodes_[index_].text : std::string_view(); }

std::string_view JsonView::Ref::string() const noexcept {
  return is(Kind::string) ? view_->nodes_[index_].value : std::string_view();
}

bool JsonView::Ref::plain_string() const noexcept { return is(Kind::string) && view_->nodes_[index_].plain; }

bool JsonView::Ref::boolean() const noexcept { return is(Kind::boolean) && view_->nodes_[index_].number.b; }

std::int64_t JsonView::Ref::integer() const noexcept { return is(Kind::integer) ? view_->nodes_[index_].number.i : 0; }

std::uint64_t JsonView::Ref::unsigned_integer() const noexcept {
  return is(Kind::unsigned_integer) ? view_->nodes_[index_].number.u : 0;
}

double JsonView::Ref::number() const noexcept {
  switch (kind()) {
    case Kind::integer: return static_cast<double>(view_->nodes_[index_].number.i);
    case Kind::unsigned_integer: return static_cast<double>(view_->nodes_[index_].number.u);
    case Kind::floating: return view_->nodes_[index_].number.d;
    default: return 0;
  }
}

std::size_t JsonView::Ref::size() const noexcept {
  return is(Kind::array) || is(Kind::object) ? view_->nodes_[index_].count : 0;
}

JsonView::Ref JsonView::Ref::operator[](std::string_view key) const noexcept {
  if (!is(Kind::object)) return {};
  const auto& nodes = view_->nodes_;
  Ref found;
  std::uint32_t i = index_ + 1;
  for (std::uint32_t m = 0; m < nodes[index_].count; ++m) {
    const std::uint32_t value = nodes[i].next;  // the key is one node
    if (nodes[i].value == key) found = Ref(view_, value);
    i = nodes[value].next;
  }
  return found;
}

std::vector<JsonView::Ref> JsonView::Ref::elements() const {
  std::vector<Ref> out;
  if (!is(Kind::array)) return out;
  const auto& nodes = view_->nodes_;
  out.reserve(nodes[index_].count);
  std::uint32_t i = index_ + 1;
  for (std::uint32_t e = 0; e < nodes[index_].count; ++e) {
    out.push_back(Ref(view_, i));
    i = nodes[i].next;
  }
  return out;
}

std::vector<std::pair<std::string_view, JsonView::Ref>> JsonView::Ref::sorted_members() const {
  std::vector<std::pair<std::string_view, Ref>> out;
  if (!is(Kind::object)) return out;
  const auto& nodes = view_->nodes_;
  out.reserve(nodes[index_].count);
  std::uint32_t i = index_ + 1;
  bool sorted = true;
  for (std::uint32_t m = 0; m < nodes[index_].count; ++m) {
    const std::uint32_t value = nodes[i].next;
    if (!out.empty() && !(out.back().first < nodes[i].value)) sorted = false;
    out.emplace_back(nodes[i].value, Ref(view_, value));
    i = nodes[value].next;
  }
  if (sorted) return out;  // the SDK's own lines: keys already in order, none repeated
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Of repeated keys the last one counts: keep the last of each run.
  std::vector<std::pair<std::string_view, Ref>> unique;
  unique.reserve(out.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (k + 1 < out.size() && out[k + 1].first == out[k].first) continue;
    unique.push_back(out[k]);
  }
  return unique;
}

// ---- writing ---------------------------------------------------------------------------

namespace {

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  out.append(buf, end);
}

void write_json_at(std::string& out, JsonView::Ref value, int depth) {
  using Kind = JsonView::Kind;
  const Kind kind = value.kind();
  if ((kind == Kind::array || kind == Kind::object) && depth > kMaxJsonDepth) {
    write_json_string(out, json_depth_marker());
    return;
  }
  switch (kind) {
    case Kind::null: out += "null"; return;
    case Kind::boolean: out += value.boolean() ? "true" : "false"; return;
    case Kind::integer: append_integer(out, value.integer()); return;
    case Kind::unsigned_integer: append_integer(out, value.unsigned_integer()); return;
    case Kind::floating: write_json_double(out, value.number()); return;
    case Kind::string:
      if (value.plain_string()) {
        out += value.text();
      } else {
        write_json_string(out, value.string());
      }
      return;
    case Kind::array: {
      out += '[';
      bool first = true;
      for (const JsonView::Ref item : value.elements()) {
        if (!first) out += ',';
        first = false;
        write_json_at(out, item, depth + 1);
      }
      out += ']';
      return;
    }
    case Kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.sorted_members()) {
        if (!first) out += ',';
        first = false;
        write_json_string(out, key);
        out += ':';
        write_json_at(out, item, depth + 1);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

void write_json(std::string& out, JsonView::Ref value) {
  if (value) {
    write_json_at(out, value, 1);
  } else {
    out += "null";
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
