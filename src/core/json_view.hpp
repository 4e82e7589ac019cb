// JsonView: a read-only view of one JSON document, for the worker's hot paths that read the
// SDK's own event lines (the OTLP span builder). Parsing writes a flat list of nodes that point
// into the text: strings without escapes, numbers and nested documents are not copied, and a
// JsonView reused for the next line reuses its node storage, so reading a line allocates nothing
// in the common case. nlohmann::json builds a tree of maps and strings per line instead, which
// cost more than all the rest of the OTLP encoding.
//
// Values read as nlohmann::json reads them: numbers are signed integers (negative), unsigned
// integers (non-negative) or floats (a fraction or exponent, or too large for 64 bits); of
// repeated keys in an object the last one counts. Strings must be valid JSON strings (escapes
// decoded, surrogate pairs joined, lone surrogates rejected); other bytes are taken as they are.
// Not thread-safe: one JsonView per thread. Nothing here throws except std::bad_alloc.
#pragma once

#include "promptetheus/export.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class JsonView {
 public:
  enum class Kind : std::uint8_t { null, boolean, integer, unsigned_integer, floating, string, array, object };

  /// One value of the document. Valid until the JsonView parses another text or goes away.
  class Ref {
   public:
    Ref() = default;
    explicit operator bool() const noexcept { return view_ != nullptr; }
    Kind kind() const noexcept;
    bool is(Kind k) const noexcept { return view_ && kind() == k; }
    bool is_number() const noexcept;
    /// The value's text exactly as in the document (strings with their quotes and escapes).
    std::string_view text() const noexcept;
    /// A string's decoded value; empty for other kinds.
    std::string_view string() const noexcept;
    /// True when a string has no escapes and only printable ASCII: its text then is already
    /// what write_json_string writes for it.
    bool plain_string() const noexcept;
    bool boolean() const noexcept;
    std::int64_t integer() const noexcept;            ///< Kind::integer
    std::uint64_t unsigned_integer() const noexcept;  ///< Kind::unsigned_integer
    /// Any number as a double (0 for other kinds).
    double number() const noexcept;
    /// Elements of an array or members of an object (0 for other kinds).
    std::size_t size() const noexcept;
    /// The member under `key` (the last one when repeated), or an empty Ref.
    Ref operator[](std::string_view key) const noexcept;
    /// Elements of an array, in order.
    std::vector<Ref> elements() const;
    /// Members of an object sorted by key (byte order, which is code point order for UTF-8), the
    /// last of repeated keys only: the order in which the canonical writer writes them.
    std::vector<std::pair<std::string_view, Ref>> sorted_members() const;

   private:
    friend class JsonView;
    Ref(const JsonView* view, std::uint32_t index) : view_(view), index_(index) {}
    const JsonView* view_ = nullptr;
    std::uint32_t index_ = 0;
  };

  /// Parses `text` (one JSON value, surrounding whitespace allowed), which must outlive the
  /// Refs. Returns false, with the view empty, for text that is not JSON or nests deeper than
  /// max_depth containers.
  bool parse(std::string_view text, int max_depth = 512);
  /// The document's value; an empty Ref before a successful parse.
  Ref root() const noexcept { return nodes_.empty() ? Ref() : Ref(this, 0); }

 private:
  struct Node {
    Kind kind = Kind::null;
    bool plain = false;      // strings: see Ref::plain_string
    std::uint32_t next = 0;  // the index after this value's last descendant
    std::uint32_t count = 0;  // containers: elements, or members (a member is a key and a value)
    std::string_view text;
    std::string_view value;  // strings: the decoded value
    union {
      bool b;
      std::int64_t i;
      std::uint64_t u;
      double d;
    } number{};
  };
  class Parser;

  std::vector<Node> nodes_;
  std::deque<std::string> decoded_;  // the values of strings with escapes (stable addresses)
};

/// Appends the canonical JSON of `value` (core/json_writer.hpp: keys sorted, compact, ASCII only,
/// floats as Python writes them, containers deeper than kMaxJsonDepth as the marker): the same
/// text as write_json of the value nlohmann::json would read from the same document.
void write_json(std::string& out, JsonView::Ref value);

PROMPTETHEUS_END_DETAIL_NAMESPACE
