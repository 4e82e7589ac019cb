// A validated JSON value kept as its source text. The reader validates each spool line once
// (with the grammar of Python's json.loads, so NaN/Infinity are accepted and a line the reference
// would skip is skipped here too) and then reads only the members it needs, without building a
// tree: this is what makes replay and fingerprint of large sessions fast.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace promptetheus::analysis {

enum class JsonKind : std::uint8_t { absent, null, boolean, number, string, array, object };

class JsonView {
 public:
  JsonView() = default;
  /// `text` must be shorter than 4 GiB (parse_json refuses longer input).
  JsonView(JsonKind kind, std::string_view text)
      : data_(text.data()), size_(static_cast<std::uint32_t>(text.size())), kind_(kind) {}

  JsonKind kind() const noexcept { return kind_; }
  std::string_view raw() const noexcept { return std::string_view(data_, size_); }
  bool present() const noexcept { return kind_ != JsonKind::absent; }
  bool is_null() const noexcept { return kind_ == JsonKind::null; }
  bool is_bool() const noexcept { return kind_ == JsonKind::boolean; }
  bool is_number() const noexcept { return kind_ == JsonKind::number; }
  bool is_string() const noexcept { return kind_ == JsonKind::string; }
  bool is_array() const noexcept { return kind_ == JsonKind::array; }
  bool is_object() const noexcept { return kind_ == JsonKind::object; }

  bool is_true() const noexcept { return kind_ == JsonKind::boolean && data_[0] == 't'; }
  bool is_false() const noexcept { return kind_ == JsonKind::boolean && data_[0] == 'f'; }

  /// Object member by key; a repeated key yields its last value (Python dict semantics).
  /// Returns an absent view when this is not an object or the key is missing.
  JsonView get(std::string_view key) const noexcept;

  /// Calls f(JsonView key, JsonView value) for each member in source order (repeats included).
  template <typename F>
  void for_each_member(F&& f) const;
  /// Calls f(JsonView element) for each array element.
  template <typename F>
  void for_each_element(F&& f) const;
  bool empty_container() const noexcept;

  /// The decoded string (UTF-8; lone surrogates in their three-byte form). "" if not a string.
  std::string as_string() const;
  /// Compares a string value with `s` without allocating when it has no escapes.
  bool string_equals(std::string_view s) const;
  /// The string body between the quotes when it has no escapes (then it equals the decoded text).
  bool plain_string(std::string_view& body) const noexcept;

  /// Number token: an integer literal (no fraction or exponent)?
  bool is_integer_literal() const noexcept;
  /// The number as a double (Python float(): NaN/Infinity tokens, overflow to inf).
  double as_double() const noexcept;

 private:
  // 16 bytes: a session of 100 000 events holds six views per event.
  const char* data_ = nullptr;
  std::uint32_t size_ = 0;
  JsonKind kind_ = JsonKind::absent;
};

/// Validates `text` as exactly one JSON value with optional surrounding JSON whitespace,
/// following Python json.loads: NaN/Infinity/-Infinity accepted, raw control characters in
/// strings rejected, integers of more than 4300 digits rejected, nesting deeper than 900 rejected.
/// Invalid UTF-8 is rejected as well. Returns an absent view on failure.
JsonView parse_json(std::string_view text) noexcept;

/// Called for each member of a top-level object while it is validated (key as a string view).
/// A line that turns out invalid may already have reported some members.
using MemberHook = void (*)(void* context, const JsonView& key, const JsonView& value);
/// parse_json that also reports the top-level members, so that callers needing a few of them
/// read the text once.
JsonView parse_json(std::string_view text, MemberHook on_top_member, void* context) noexcept;

namespace json_detail {
/// Advances past one already-validated value starting at p (no whitespace before it).
const char* skip_value(const char* p, const char* end) noexcept;
const char* skip_ws(const char* p, const char* end) noexcept;
JsonKind kind_of(char first) noexcept;
}  // namespace json_detail

template <typename F>
void JsonView::for_each_member(F&& f) const {
  if (kind_ != JsonKind::object) return;
  const char* p = data_ + 1;
  const char* end = data_ + size_ - 1;
  p = json_detail::skip_ws(p, end);
  while (p < end && *p == '"') {
    const char* key_end = json_detail::skip_value(p, end);
    JsonView key(JsonKind::string, std::string_view(p, static_cast<std::size_t>(key_end - p)));
    p = json_detail::skip_ws(key_end, end);
    ++p;  // ':'
    p = json_detail::skip_ws(p, end);
    const char* value_end = json_detail::skip_value(p, end);
    f(key, JsonView(json_detail::kind_of(*p), std::string_view(p, static_cast<std::size_t>(value_end - p))));
    p = json_detail::skip_ws(value_end, end);
    if (p < end && *p == ',') p = json_detail::skip_ws(p + 1, end);
  }
}

template <typename F>
void JsonView::for_each_element(F&& f) const {
  if (kind_ != JsonKind::array) return;
  const char* p = data_ + 1;
  const char* end = data_ + size_ - 1;
  p = json_detail::skip_ws(p, end);
  while (p < end) {
    const char* value_end = json_detail::skip_value(p, end);
    f(JsonView(json_detail::kind_of(*p), std::string_view(p, static_cast<std::size_t>(value_end - p))));
    p = json_detail::skip_ws(value_end, end);
    if (p < end && *p == ',') p = json_detail::skip_ws(p + 1, end);
  }
}

}  // namespace promptetheus::analysis
