// Regular expressions with Python `re` semantics for `str` patterns, on PCRE2 (8-bit, UTF and
// UCP, JIT when available), and the Unicode character properties the policy module needs from
// PCRE2's tables. PCRE2 10.42 and Python 3.11 both implement Unicode 14.0, and PCRE2's \w, \d,
// \b, Cased, Case_Ignorable and printable classes are then exactly Python's (checked over every
// code point when this module was written).
//
// Thread-safety: a compiled Regex is immutable and may be shared between threads; each thread
// matches with its own match data, JIT stack and limits (a MatchScope). Nothing here throws
// except std::bad_alloc.
#pragma once

#include "promptetheus/export.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// A Python pattern rewritten where PCRE2 reads the same text differently: `\s` and `\S` as
/// Python's whitespace (PCRE2's lacks U+001C..U+001F and has U+180E; `\S` inside a class is
/// left to PCRE2), `\Z` as `\z`, `\uXXXX` and `\UXXXXXXXX` as `\x{...}`, `{,n}` as `{0,n}`.
/// Not translated (rare, documented): Python's case-insensitive matching of U+0130 and U+0131
/// with ASCII i, `(?a)`/`(?L)` flags and `\N{name}` (these fail to compile: fail closed).
std::string translate_python_pattern(std::string_view pattern);

class Regex {
 public:
  /// Compiles a Python `re` pattern (translated as above). Returns null and sets `error` (the
  /// PCRE2 message and the offset) when the pattern is invalid or not valid UTF-8.
  static std::unique_ptr<Regex> compile(std::string_view python_pattern, std::string& error);
  /// Compiles a pattern already in PCRE2 syntax (the built-in tables). Null on failure.
  static std::unique_ptr<Regex> compile_pcre2(std::string_view pattern, std::string& error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  /// The compiled code (a pcre2_code_8*); opaque outside regex.cpp.
  void* code() const noexcept { return code_; }

 private:
  explicit Regex(void* code) noexcept : code_(code) {}
  void* code_;
};

/// Writes the replacement of one match (`match`) to `out`.
using ReplaceFn = void (*)(std::string& out, std::string_view match, const void* context);

/// The match data, match context (limits) and JIT stack of the calling thread, for the lifetime
/// of the scope. A thread reuses one set; a call made while the thread is exiting (after its
/// thread_local objects were destroyed) gets a private set, freed with the scope.
class MatchScope {
 public:
  MatchScope();
  ~MatchScope();
  MatchScope(const MatchScope&) = delete;
  MatchScope& operator=(const MatchScope&) = delete;

  /// False when the match data could not be allocated (the caller fails closed).
  bool ok() const noexcept;

  enum class Result { unchanged, replaced, error };
  /// Python's re.sub(pattern, fn, subject) with `fn` = `replace`: every non-overlapping match,
  /// left to right, an empty match allowed right after a non-empty one (Python 3.7+). `subject`
  /// must be valid UTF-8 (it is not checked again). On `replaced`, `out` holds the new text; on
  /// `error` (a match or backtracking limit was hit), `out` is unspecified.
  Result substitute(const Regex& regex, std::string_view subject, ReplaceFn replace, const void* context,
                    std::string& out);

  /// Whether `regex` matches the code point `cp` alone (anchored, whole): a property test.
  bool matches_code_point(const Regex& regex, char32_t cp);

  struct State;  // defined in regex.cpp

 private:
  State* state_;
  bool owned_;
};

/// True when `text` is valid UTF-8 (the strict rule of core/utf8.hpp).
bool is_valid_utf8(std::string_view text) noexcept;
/// `text` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD, one
/// byte at a time, as the canonical JSON writer writes it.
std::string replace_invalid_utf8(std::string_view text);

PROMPTETHEUS_END_DETAIL_NAMESPACE
