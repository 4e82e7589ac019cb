#include "dev/wide_integers.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "core/ids.hpp"
#include "core/json_writer.hpp"

namespace promptetheus::devserver {
namespace {

using nlohmann::json;

// What the document holds in place of a wide integer: the 64-bit integer of its sign nearest
// to it.
json stand_in(const std::string& literal) {
  if (!literal.empty() && literal.front() == '-') {
    return json(std::numeric_limits<json::number_integer_t>::min());
  }
  return json(std::numeric_limits<json::number_unsigned_t>::max());
}

// Builds the document as nlohmann's own DOM parser does, tracking the path of the value being
// added so that a wide integer can be located later.
class WideIntegerDomBuilder {
 public:
  WideIntegerDomBuilder(json& root, std::vector<WideInteger>& wide) : root_(root), wide_(wide) {}

  bool null() { return add(json(nullptr)); }
  bool boolean(bool value) { return add(json(value)); }
  bool number_integer(json::number_integer_t value) { return add(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return add(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t& literal) {
    // nlohmann hands an integer literal it cannot hold in 64 bits to number_float; a real float
    // literal has a fraction or an exponent.
    if (literal.find_first_of(".eE") != json::string_t::npos) return add(json(value));
    std::vector<std::string> path = path_;
    if (!open_.empty()) path.push_back(next_token());
    add(stand_in(literal));
    // Listed after add(), which forgets the wide integers of a value it replaces.
    wide_.push_back(WideInteger{std::move(path), literal});
    return true;
  }
  bool string(json::string_t& value) { return add(json(std::move(value))); }
  bool binary(json::binary_t& value) { return add(json(std::move(value))); }

  bool start_object(std::size_t) { return open(json::object()); }
  bool key(json::string_t& key) {
    key_ = std::move(key);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t, const std::string&, const json::exception&) { return false; }

 private:
  // The reference token of the next value added to the innermost open container.
  std::string next_token() const {
    if (open_.empty()) return {};
    return open_.back()->is_object() ? key_ : std::to_string(open_.back()->size());
  }

  json* insert(json&& value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_object()) {
      // A repeated key keeps the last value, as nlohmann's parser does, and the wide integers
      // of the value it replaces are forgotten.
      if (parent.contains(key_)) forget_wide_under(key_);
      json& slot = parent[key_];
      slot = std::move(value);
      return &slot;
    }
    parent.push_back(std::move(value));
    return &parent.back();
  }

  void forget_wide_under(const std::string& key) {
    std::vector<std::string> prefix = path_;
    prefix.push_back(key);
    wide_.erase(std::remove_if(wide_.begin(), wide_.end(),
                               [&](const WideInteger& w) {
                                 return w.path.size() >= prefix.size() &&
                                        std::equal(prefix.begin(), prefix.end(), w.path.begin());
                               }),
                wide_.end());
  }

  bool add(json&& value) {
    insert(std::move(value));
    return true;
  }

  // A container's address is stable while it is open: its parent gains no member until it
  // closes.
  bool open(json&& container) {
    const bool nested = !open_.empty();
    std::string token = next_token();
    open_.push_back(insert(std::move(container)));
    if (nested) path_.push_back(std::move(token));
    return true;
  }

  bool close() {
    open_.pop_back();
    if (!open_.empty()) path_.pop_back();
    return true;
  }

  json& root_;
  std::vector<WideInteger>& wide_;
  std::vector<json*> open_;
  std::vector<std::string> path_;  // tokens of the innermost open container below the root
  std::string key_;
};

json::json_pointer pointer_to(const std::vector<std::string>& path) {
  json::json_pointer pointer;
  for (const std::string& token : path) pointer /= token;
  return pointer;
}

std::size_t count_occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

}  // namespace

bool parse_keeping_wide_integers(std::string_view text, json& out, std::vector<WideInteger>& wide) {
  out = json();
  wide.clear();
  WideIntegerDomBuilder builder(out, wide);
  if (json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true)) return true;
  out = json();
  wide.clear();
  return false;
}

std::vector<WideInteger> wide_integers_under(const std::vector<WideInteger>& wide,
                                             const std::vector<std::string>& prefix) {
  std::vector<WideInteger> under;
  for (const WideInteger& w : wide) {
    if (w.path.size() < prefix.size() ||
        !std::equal(prefix.begin(), prefix.end(), w.path.begin())) {
      continue;
    }
    under.push_back(WideInteger{
        std::vector<std::string>(w.path.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                                 w.path.end()),
        w.literal});
  }
  return under;
}

const std::string* wide_literal_at(const std::vector<WideInteger>& wide,
                                   const std::vector<std::string>& path) {
  for (const WideInteger& w : wide) {
    if (w.path == path) return &w.literal;
  }
  return nullptr;
}

void write_json_with_wide_integers(std::string& out, const json& value,
                                   const std::vector<WideInteger>& wide) {
  if (wide.empty()) return detail::write_json(out, value);
  // Each wide integer is written as a unique placeholder string, which is then replaced by the
  // literal. A placeholder that also occurs in the document (one chance in 2^128) is redrawn.
  for (;;) {
    json marked = value;
    std::vector<std::string> placeholders;
    for (const WideInteger& w : wide) {
      placeholders.push_back("wide-integer-" + detail::new_hex_id());
      // A place that no longer holds the stand-in was given another value since the parse.
      const json::json_pointer where = pointer_to(w.path);
      if (marked.contains(where) && marked.at(where) == stand_in(w.literal)) {
        marked.at(where) = placeholders.back();
      }
    }
    std::string text;
    detail::write_json(text, marked);
    bool unique = true;
    for (std::string& placeholder : placeholders) {
      placeholder = '"' + placeholder + '"';
      // Zero when the value was nested too deep to be written (it is in the depth marker).
      unique = unique && count_occurrences(text, placeholder) <= 1;
    }
    if (!unique) continue;
    for (std::size_t i = 0; i < wide.size(); ++i) {
      const std::size_t at = text.find(placeholders[i]);
      if (at != std::string::npos) text.replace(at, placeholders[i].size(), wide[i].literal);
    }
    out += text;
    return;
  }
}

void replace_wide_integers_with_doubles(json& value, const std::vector<WideInteger>& wide) {
  for (const WideInteger& w : wide) {
    const json::json_pointer where = pointer_to(w.path);
    if (value.contains(where) && value.at(where) == stand_in(w.literal)) {
      value.at(where) = std::strtod(w.literal.c_str(), nullptr);
    }
  }
}

}  // namespace promptetheus::devserver
