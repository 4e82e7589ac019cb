// The default redactor (contract §7.7, with the C++ decision of conformance/README.md "Policy
// vectors": under a sensitive key a number, bool or null is kept, anything else is replaced whole).
#include "policy/redact.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/ids.hpp"
#include "core/json_writer.hpp"
#include "core/sha256.hpp"
#include "policy/py_text.hpp"
#include "policy/regex.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

using nlohmann::json;

constexpr std::string_view kPlaceholder = "[REDACTED]";


/// A key is sensitive when its lowercase form contains one of these (or an extra key).
constexpr std::array<std::string_view, 15> kSensitiveKeys = {
    "password",      "passwd",       "secret",        "token",       "api_key",
    "apikey",        "api-key",      "authorization", "auth_token",  "access_token",
    "refresh_token", "client_secret", "private_key",  "session_key", "credential"};

// ---- The built-in patterns -------------------------------------------------------------------
//
// Each comes with a test a text must pass for the pattern to match anywhere in it (a literal it
// needs, or enough characters that could be digits): a text that fails it is skipped without
// running the regex. The tests are necessary conditions only, so the result is the same; they
// keep the common case (prose with no secret) to a few memchr-speed scans instead of seven
// regex runs, two of which try every position (\b and Unicode \d have no start-byte filter).

bool contains(std::string_view text, std::string_view literal) { return text.find(literal) != std::string_view::npos; }

bool may_be_provider_key(std::string_view text) { return contains(text, "sk-"); }
bool may_be_aws_key(std::string_view text) { return contains(text, "AKIA"); }
bool may_be_github_token(std::string_view text) { return contains(text, "gh"); }
bool may_be_jwt(std::string_view text) { return contains(text, "eyJ"); }
bool may_be_email(std::string_view text) { return contains(text, "@"); }

/// "bearer" in any ASCII case (Python's (?i) matches no other character for these letters).
bool may_be_bearer(std::string_view text) {
  for (const char first : {'b', 'B'}) {
    std::size_t i = text.find(first);
    while (i != std::string_view::npos && i + 6 <= text.size()) {
      if ((text[i + 1] | 0x20) == 'e' && (text[i + 2] | 0x20) == 'a' && (text[i + 3] | 0x20) == 'r' &&
          (text[i + 4] | 0x20) == 'e' && (text[i + 5] | 0x20) == 'r') {
        return true;
      }
      i = text.find(first, i + 1);
    }
  }
  return false;
}

/// A run of at least 13 characters that could be Unicode digits (an ASCII digit, or any
/// non-ASCII character), each followed by at most one ' ' or '-': what `(?:\d[ \-]?){13,16}`
/// needs. UTF-8 continuation bytes belong to the character before them.
bool may_be_card(std::string_view text) {
  enum : unsigned char { kOther, kDigit, kSeparator, kContinuation };
  struct Classes {
    unsigned char of[256];
    constexpr Classes() : of() {
      for (int c = '0'; c <= '9'; ++c) of[c] = kDigit;
      for (int c = 0xC0; c < 0x100; ++c) of[c] = kDigit;
      for (int c = 0x80; c < 0xC0; ++c) of[c] = kContinuation;
      of[static_cast<unsigned char>(' ')] = kSeparator;
      of[static_cast<unsigned char>('-')] = kSeparator;
    }
  };
  static constexpr Classes kClasses;
  // Most texts have fewer than 13 candidates in all: one branch-free count decides.
  std::size_t candidates = 0;
  for (char c : text) candidates += kClasses.of[static_cast<unsigned char>(c)] == kDigit;
  if (candidates < 13) return false;
  int run = 0;
  bool after_separator = false;
  for (char c : text) {
    switch (kClasses.of[static_cast<unsigned char>(c)]) {
      case kDigit:
        if (++run >= 13) return true;
        after_separator = false;
        break;
      case kSeparator:
        if (run > 0 && !after_separator) {
          after_separator = true;
          break;
        }
        run = 0;
        after_separator = false;
        break;
      case kContinuation:
        break;
      default:
        run = 0;
        after_separator = false;
        break;
    }
  }
  return false;
}

struct BuiltinPattern {
  std::string_view regex;  // Python `re` syntax
  bool (*may_match)(std::string_view text);
};

/// The built-in patterns, in the order they are applied. The bearer pattern lists U+0130 and
/// U+0131 explicitly: under (?i) Python's [A-Za-z] matches them (their simple case mappings are
/// ASCII) and PCRE2's case folding does not; for Python the addition changes nothing.
constexpr std::array<BuiltinPattern, 7> kBuiltinPatterns = {{
    {R"(\bsk-(?:ant-)?[A-Za-z0-9_\-]{16,}\b)", may_be_provider_key},
    {R"((?i)\bBearer\s+[A-Za-z0-9._\-\u0130\u0131]+)", may_be_bearer},
    {R"(\bAKIA[0-9A-Z]{16}\b)", may_be_aws_key},
    {R"(\bgh[pousr]_[A-Za-z0-9]{20,}\b)", may_be_github_token},
    {R"(\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\b)", may_be_jwt},
    {R"(\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b)", may_be_email},
    {R"(\b(?:\d[ \-]?){13,16}\b)", may_be_card},
}};

/// A failure inside the walk; try_redact turns it into its error.
struct RedactionFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Compiled once per process and never freed (a thread may redact while the process exits), in
/// the order of kBuiltinPatterns.
const std::vector<std::unique_ptr<Regex>>& builtin_patterns() {
  static const std::vector<std::unique_ptr<Regex>>* const patterns = [] {
    auto list = std::make_unique<std::vector<std::unique_ptr<Regex>>>();
    for (const BuiltinPattern& pattern : kBuiltinPatterns) {
      std::string error;
      auto regex = Regex::compile(pattern.regex, error);
      if (!regex) throw RedactionFailure("a built-in pattern does not compile: " + error);
      list->push_back(std::move(regex));
    }
    return list.release();
  }();
  return *patterns;
}

}  // namespace

/// RedactOptions made ready for use: keys lowercased, extra patterns compiled.
struct PreparedRedaction {
  // The options this was made from (the cache key).
  std::vector<std::string> allow_keys;
  std::vector<std::string> extra_sensitive_keys;
  std::vector<std::pair<std::string, std::string>> extra_patterns;

  std::vector<std::string> allow;    // lowercased allow_keys
  // Lowercased built-in and extra sensitive keys, without those that contain another one (a key
  // containing them contains the other too), indexed by first byte: a key is tested only
  // against the needles that start with one of its bytes.
  std::vector<std::string> needles;
  std::array<std::vector<std::uint8_t>, 256> needles_by_first;
  bool every_key_sensitive = false;  // an empty extra key is contained in every key
  std::vector<std::unique_ptr<Regex>> extras;
  std::string error;  // set when an extra pattern does not compile

  bool made_from(const policy::RedactOptions& o) const {
    return allow_keys == o.allow_keys && extra_sensitive_keys == o.extra_sensitive_keys &&
           extra_patterns == o.extra_patterns;
  }
};

namespace {

std::unique_ptr<PreparedRedaction> prepare(const policy::RedactOptions& o, MatchScope& scope) {
  auto p = std::make_unique<PreparedRedaction>();
  p->allow_keys = o.allow_keys;
  p->extra_sensitive_keys = o.extra_sensitive_keys;
  p->extra_patterns = o.extra_patterns;
  std::string lower;
  for (const auto& key : o.allow_keys) {
    py_lower(key, lower, scope);
    p->allow.push_back(lower);
  }
  std::vector<std::string> needles(kSensitiveKeys.begin(), kSensitiveKeys.end());
  for (const auto& key : o.extra_sensitive_keys) {
    py_lower(key, lower, scope);
    needles.push_back(lower);
  }
  for (std::size_t i = 0; i < needles.size(); ++i) {
    if (needles[i].empty()) p->every_key_sensitive = true;
    bool redundant = false;
    for (std::size_t j = 0; j < needles.size() && !redundant; ++j) {
      // Contains another needle (of the two equal ones, the later is redundant).
      redundant = j != i && needles[i].find(needles[j]) != std::string::npos &&
                  (needles[i] != needles[j] || j < i);
    }
    if (!redundant && !needles[i].empty()) p->needles.push_back(needles[i]);
  }
  if (p->needles.size() > 255) {  // indices are bytes; that many extra keys: no index
    for (auto& list : p->needles_by_first) list.clear();
  }
  for (std::size_t i = 0; i < p->needles.size() && i < 256; ++i) {
    p->needles_by_first[static_cast<unsigned char>(p->needles[i][0])].push_back(static_cast<std::uint8_t>(i));
  }
  for (const auto& [name, pattern] : o.extra_patterns) {
    std::string error;
    auto regex = Regex::compile(pattern, error);
    if (!regex) {
      p->error = "extra pattern '" + name + "' does not compile: " + error;
      break;
    }
    p->extras.push_back(std::move(regex));
  }
  return p;
}

// The calling thread's last prepared options, reused while the options stay the same. The
// pointer and flag are trivially destructible (usable after the owner is gone at thread exit).
thread_local PreparedRedaction* t_prepared = nullptr;
thread_local bool t_prepared_gone = false;
struct PreparedOwner {
  bool armed = false;
  ~PreparedOwner() {
    delete t_prepared;
    t_prepared = nullptr;
    t_prepared_gone = true;
  }
};
thread_local PreparedOwner t_prepared_owner;

/// A bounded deep copy: containers deeper than kMaxJsonDepth become the writer's depth marker
/// (nlohmann::json's own copy recurses without limit).
json copy_bounded(const json& value, int depth) {
  using T = json::value_t;
  switch (value.type()) {
    case T::array: {
      if (depth > kMaxJsonDepth) return json_depth_marker();
      json out = json::array();
      auto& items = out.get_ref<json::array_t&>();
      items.reserve(value.size());
      for (const auto& item : value) items.push_back(copy_bounded(item, depth + 1));
      return out;
    }
    case T::object: {
      if (depth > kMaxJsonDepth) return json_depth_marker();
      json out = json::object();
      auto& members = out.get_ref<json::object_t&>();
      for (auto it = value.begin(); it != value.end(); ++it) {
        members.emplace_hint(members.end(), it.key(), copy_bounded(it.value(), depth + 1));
      }
      return out;
    }
    case T::binary:
    case T::discarded:
      return nullptr;
    default:
      return value;
  }
}

/// "sha256:" and 12 lowercase hex digits: what hash mode writes.
bool is_hash_placeholder(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.size() != kPrefix.size() + 12 || text.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : text.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void write_placeholder(std::string& out, std::string_view raw, bool hash) {
  if (hash) {
    out += "sha256:";
    out.append(sha256_hex(raw), 0, 12);
  } else {
    out += kPlaceholder;
  }
}

void replace_match(std::string& out, std::string_view match, const void* context) {
  write_placeholder(out, match, *static_cast<const bool*>(context));
}

class Walker {
 public:
  Walker(const PreparedRedaction& prepared, bool hash, MatchScope& scope)
      : prepared_(prepared), builtins_(builtin_patterns()), hash_(hash), scope_(scope) {}

  json event(const json& event) {
    if (!event.is_object()) throw RedactionFailure("the event is not a JSON object");
    json out = json::object();
    auto& members = out.get_ref<json::object_t&>();
    constexpr int kDepth = 2;  // the event is level 1
    for (auto it = event.begin(); it != event.end(); ++it) {
      const std::string& key = it.key();
      const bool is_protected = std::find(kProtectedKeys.begin(), kProtectedKeys.end(), key) != kProtectedKeys.end();
      members.emplace_hint(members.end(), key,
                           is_protected ? copy_bounded(it.value(), kDepth) : member(key, it.value(), kDepth));
    }
    return out;
  }

 private:
  /// The value of `key` in an object: copied when the key is allowed, replaced when it is
  /// sensitive, else scrubbed.
  json member(std::string_view key, const json& value, int depth) {
    switch (classify(key)) {
      case KeyClass::allowed: return copy_bounded(value, depth);
      case KeyClass::sensitive: return replace_whole(value, depth);
      case KeyClass::other: break;
    }
    return scrub(value, depth);
  }

 public:
  // ---- In place: what the SDK applies to its own events before writing them. The result is
  // the same as the copying walk above (checked by tests); only what changes is rewritten.

  /// member(), in place. Returns true when something was replaced.
  bool member_in_place(std::string_view key, json& value, int depth) {
    switch (classify(key)) {
      case KeyClass::allowed: return false;
      case KeyClass::sensitive: return replace_whole_in_place(value, depth);
      case KeyClass::other: break;
    }
    return scrub_in_place(value, depth);
  }

  /// member() for a payload field of an event (at depth 3: event, payload, field).
  bool field_in_place(std::string_view key, Value& value) {
    constexpr int kFieldDepth = 3;
    if (auto* text = std::get_if<std::string>(&value)) {
      switch (classify(key)) {
        case KeyClass::allowed: return false;
        case KeyClass::sensitive: {
          json replaced = replace_whole(json(*text), kFieldDepth);
          *text = std::move(replaced.get_ref<std::string&>());
          return true;
        }
        case KeyClass::other: break;
      }
      return scrub_string_into(*text, scratch_) && (text->swap(scratch_), true);
    }
    if (auto* tree = std::get_if<json>(&value)) return member_in_place(key, *tree, kFieldDepth);
    return false;  // null, bool and numbers are kept everywhere
  }

  enum class KeyClass { allowed, sensitive, other };
  // Kept out of line, like replace_whole and the string scrubbing below: member() and scrub()
  // recurse up to kMaxJsonDepth levels, and their locals inlined would multiply each level's
  // frame (several fold under AddressSanitizer), on stacks that may be small.
  [[gnu::noinline]] KeyClass classify(std::string_view key) {
    if (std::all_of(key.begin(), key.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
      lower_.assign(key.data(), key.size());  // str.lower() of ASCII is ASCII's
      for (char& c : lower_) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
    } else {
      py_lower(key, lower_, scope_);
    }
    if (std::find(prepared_.allow.begin(), prepared_.allow.end(), lower_) != prepared_.allow.end()) {
      return KeyClass::allowed;
    }
    if (prepared_.every_key_sensitive) return KeyClass::sensitive;
    if (prepared_.needles.size() > 255) {
      for (const auto& needle : prepared_.needles) {
        if (lower_.find(needle) != std::string::npos) return KeyClass::sensitive;
      }
      return KeyClass::other;
    }
    for (std::size_t i = 0; i < lower_.size(); ++i) {
      for (const std::uint8_t n : prepared_.needles_by_first[static_cast<unsigned char>(lower_[i])]) {
        const std::string& needle = prepared_.needles[n];
        if (lower_.compare(i, needle.size(), needle) == 0) return KeyClass::sensitive;
      }
    }
    return KeyClass::other;
  }

  /// Whether the extra patterns would change `text` (valid UTF-8).
  bool extras_change(std::string_view text) {
    for (const auto& regex : prepared_.extras) {
      switch (scope_.substitute(*regex, text, replace_match, &hash_, scratch_)) {
        case MatchScope::Result::unchanged: break;
        case MatchScope::Result::replaced: return true;
        case MatchScope::Result::error: throw RedactionFailure("a pattern hit its match limit");
      }
    }
    return false;
  }

 private:
  bool replace_whole_in_place(json& value, int depth) {
    if (value.is_null() || value.is_boolean() || value.is_number()) return false;
    json replaced = replace_whole(value, depth);
    value = std::move(replaced);
    return true;
  }

  bool scrub_in_place(json& value, int depth) {
    using T = json::value_t;
    bool changed = false;
    switch (value.type()) {
      case T::array:
        // Deeper containers are left to the writer, which writes them as the depth marker.
        if (depth > kMaxJsonDepth) return false;
        for (auto& item : value) changed |= scrub_in_place(item, depth + 1);
        return changed;
      case T::object:
        if (depth > kMaxJsonDepth) return false;
        for (auto it = value.begin(); it != value.end(); ++it) changed |= member_in_place(it.key(), it.value(), depth + 1);
        return changed;
      case T::string: {
        auto& text = value.get_ref<std::string&>();
        if (!scrub_string_into(text, scratch_)) return false;
        text.swap(scratch_);
        return true;
      }
      case T::binary:
      case T::discarded:
        value = nullptr;
        return true;
      default:
        return false;
    }
  }

  json scrub(const json& value, int depth) {
    using T = json::value_t;
    switch (value.type()) {
      case T::array: {
        if (depth > kMaxJsonDepth) return json_depth_marker();
        json out = json::array();
        auto& items = out.get_ref<json::array_t&>();
        items.reserve(value.size());
        for (const auto& item : value) items.push_back(scrub(item, depth + 1));
        return out;
      }
      case T::object: {
        if (depth > kMaxJsonDepth) return json_depth_marker();
        json out = json::object();
        auto& members = out.get_ref<json::object_t&>();
        for (auto it = value.begin(); it != value.end(); ++it) {
          members.emplace_hint(members.end(), it.key(), member(it.key(), it.value(), depth + 1));
        }
        return out;
      }
      case T::string:
        return scrub_string(value.get_ref<const std::string&>());
      case T::binary:
      case T::discarded:
        return nullptr;
      default:
        return value;
    }
  }

  /// The value of a sensitive key: numbers, bools and null kept (token counts survive), a
  /// string replaced, any other value replaced by the placeholder of its Python repr().
  [[gnu::noinline]] json replace_whole(const json& value, int depth) {
    using T = json::value_t;
    std::string out;
    switch (value.type()) {
      case T::null:
      case T::boolean:
      case T::number_integer:
      case T::number_unsigned:
      case T::number_float:
        return value;
      case T::binary:
      case T::discarded:
        return nullptr;
      case T::string: {
        if (!hash_) return std::string(kPlaceholder);
        const std::string& text = value.get_ref<const std::string&>();
        // Already a hash placeholder: kept, so that redacting a redacted event changes nothing
        // (spool replay redacts lines that may have been redacted when they were written).
        if (is_hash_placeholder(text)) return text;
        if (is_valid_utf8(text)) {
          write_placeholder(out, text, true);
        } else {
          write_placeholder(out, replace_invalid_utf8(text), true);
        }
        return out;
      }
      default: {
        if (!hash_) return std::string(kPlaceholder);
        std::string repr;
        append_pyrepr(repr, value, depth, scope_);
        write_placeholder(out, repr, true);
        return out;
      }
    }
  }

  [[gnu::noinline]] std::string scrub_string(const std::string& text) {
    std::string out;
    return scrub_string_into(text, out) ? out : text;
  }

  /// Every pattern in order, each replacing its matches in the previous one's result. Invalid
  /// UTF-8 is replaced first (PCRE2 must not read it unchecked), as the writer would write it.
  /// Returns true, with the new text in `result`, when anything changed.
  [[gnu::noinline]] bool scrub_string_into(const std::string& text, std::string& result) {
    std::string& current = result;
    current.clear();
    bool own = false;
    if (!is_valid_utf8(text)) {
      current = replace_invalid_utf8(text);
      own = true;
    }
    std::string next;
    auto apply = [&](const Regex& regex, bool (*may_match)(std::string_view)) {
      const std::string_view subject = own ? std::string_view(current) : std::string_view(text);
      if (may_match != nullptr && !may_match(subject)) return;
      switch (scope_.substitute(regex, subject, replace_match, &hash_, next)) {
        case MatchScope::Result::unchanged:
          return;
        case MatchScope::Result::replaced:
          current.swap(next);
          own = true;
          return;
        case MatchScope::Result::error:
          throw RedactionFailure("a pattern hit its match limit");
      }
    };
    for (std::size_t i = 0; i < kBuiltinPatterns.size(); ++i) apply(*builtins_[i], kBuiltinPatterns[i].may_match);
    for (const auto& regex : prepared_.extras) apply(*regex, nullptr);
    return own;
  }

  const PreparedRedaction& prepared_;
  const std::vector<std::unique_ptr<Regex>>& builtins_;
  const bool hash_;
  MatchScope& scope_;
  std::string lower_;    // the lowercased key being classified
  std::string scratch_;  // the new text of a string being scrubbed in place
};

}  // namespace

std::optional<json> try_redact(const json& event, const policy::RedactOptions& options, std::string& error) {
  try {
    MatchScope scope;
    if (!scope.ok()) throw std::bad_alloc();
    const PreparedRedaction* prepared = nullptr;
    std::unique_ptr<PreparedRedaction> private_copy;
    if (t_prepared != nullptr && t_prepared->made_from(options)) {
      prepared = t_prepared;
    } else {
      auto fresh = prepare(options, scope);
      if (t_prepared_gone) {
        private_copy = std::move(fresh);
        prepared = private_copy.get();
      } else {
        t_prepared_owner.armed = true;  // registers the owner's destructor for this thread
        delete t_prepared;
        t_prepared = fresh.release();
        prepared = t_prepared;
      }
    }
    if (!prepared->error.empty()) {
      error = prepared->error;
      return std::nullopt;
    }
    Walker walker(*prepared, options.hash_values, scope);
    return walker.event(event);
  } catch (const RedactionFailure& failure) {
    error = failure.what();
    return std::nullopt;
  }
}

DefaultRedactor::DefaultRedactor(std::unique_ptr<PreparedRedaction> prepared, bool hash_values)
    : prepared_(std::move(prepared)), hash_(hash_values) {}

DefaultRedactor::~DefaultRedactor() = default;

std::unique_ptr<DefaultRedactor> DefaultRedactor::create(const policy::RedactOptions& options, std::string& error) {
  MatchScope scope;
  if (!scope.ok()) throw std::bad_alloc();
  builtin_patterns();  // compiled now, on the thread that configures, not on the first event
  auto prepared = prepare(options, scope);
  if (!prepared->error.empty()) {
    error = prepared->error;
    return nullptr;
  }
  std::unique_ptr<DefaultRedactor> redactor(new DefaultRedactor(std::move(prepared), options.hash_values));
  // The in-place walk covers an event's payload and metadata. It is exact when those two keys,
  // and the span id keys, are neither allowed nor sensitive (so that they are scrubbed member by
  // member); other options take the copying walk.
  Walker walker(*redactor->prepared_, redactor->hash_, scope);
  redactor->in_place_ok_ = true;
  for (std::string_view key : {"payload", "metadata", "span_id", "parent_id"}) {
    if (walker.classify(key) != Walker::KeyClass::other) redactor->in_place_ok_ = false;
  }
  return redactor;
}

std::optional<json> DefaultRedactor::redact(const json& event, std::string& error) const {
  try {
    MatchScope scope;
    if (!scope.ok()) throw std::bad_alloc();
    Walker walker(*prepared_, hash_, scope);
    return walker.event(event);
  } catch (const RedactionFailure& failure) {
    error = failure.what();
    return std::nullopt;
  }
}

DefaultRedactor::InPlace DefaultRedactor::redact_in_place(Event& event, std::string& error) const {
  if (!in_place_ok_) return InPlace::needs_copy;
  try {
    MatchScope scope;
    if (!scope.ok()) throw std::bad_alloc();
    Walker walker(*prepared_, hash_, scope);
    if (event.has_span && !prepared_->extras.empty()) {
      // The built-in patterns never match "span_<32 hex digits>" (no '-', '@', 'r', upper case
      // or word boundary before a digit); an extra pattern may, and the span id fields cannot
      // hold anything else: such an event takes the copying walk.
      std::string id = "span_";
      append_hex(id, event.span_id);
      if (walker.extras_change(id)) return InPlace::needs_copy;
      if (event.has_parent) {
        id.resize(5);
        append_hex(id, event.parent_id);
        if (walker.extras_change(id)) return InPlace::needs_copy;
      }
    }
    bool changed = false;
    constexpr int kMetadataDepth = 2;  // event, metadata
    if (!event.metadata.is_null()) changed |= walker.member_in_place("metadata", event.metadata, kMetadataDepth);
    for (std::size_t i = 0; i < event.payload.size(); ++i) {
      Field& field = event.payload[i];
      changed |= walker.field_in_place(field.key, field.value);
    }
    return changed ? InPlace::redacted : InPlace::unchanged;
  } catch (const RedactionFailure& failure) {
    error = failure.what();
    return InPlace::failed;
  }
}

std::string redact_pattern_error(std::string_view python_pattern) {
  std::string error;
  return Regex::compile(python_pattern, error) ? std::string() : error;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE

PROMPTETHEUS_BEGIN_NAMESPACE
namespace policy {

nlohmann::json redaction_failed_skeleton(const nlohmann::json& event) noexcept {
  try {
    nlohmann::json out = nlohmann::json::object();
    if (event.is_object()) {
      // The identity of the event (never changed by redaction), and its place in the trace
      // when the span ids are what the SDK writes there (a string, or null for parent_id).
      for (std::string_view key : detail::kProtectedKeys) {
        const auto it = event.find(std::string(key));
        if (it != event.end()) out[std::string(key)] = detail::copy_bounded(*it, 2);
      }
      for (const char* key : {"span_id", "parent_id"}) {
        const auto it = event.find(key);
        if (it != event.end() && (it->is_string() || it->is_null())) out[key] = *it;
      }
    }
    out["payload"] = {{"redaction_failed", true}};
    return out;
  } catch (...) {
    return nlohmann::json();
  }
}

nlohmann::json redact(const nlohmann::json& event, const RedactOptions& options) noexcept {
  try {
    std::string error;
    if (auto redacted = detail::try_redact(event, options, error)) return std::move(*redacted);
  } catch (...) {
    // Out of memory: fail closed below.
  }
  return redaction_failed_skeleton(event);
}

}  // namespace policy
PROMPTETHEUS_END_NAMESPACE
