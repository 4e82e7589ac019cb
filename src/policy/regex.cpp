#include "policy/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstring>
#include <new>

#include "core/utf8.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

// Python's \s for str patterns (str.isspace(): CPython's _PyUnicode_IsWhitespace), as the body
// of a PCRE2 character class.
constexpr std::string_view kPySpaceBody =
    "\\t-\\r\\x1c-\\x20\\x85\\xa0\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}";

// A backtracking or JIT run that needs more than this stops with an error (the string then fails
// closed) rather than hold the thread: Python would run on, but an extra pattern that backtracks
// catastrophically must not stall the delivery thread.
constexpr std::uint32_t kHeapLimitKiB = 64 * 1024;
constexpr std::uint32_t kMatchLimit = 10'000'000;
constexpr std::size_t kJitStackMin = 32 * 1024;
constexpr std::size_t kJitStackMax = 1024 * 1024;

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool hex_run(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  for (std::size_t k = 0; k < n; ++k) {
    if (!is_hex(s[at + k])) return false;
  }
  return true;
}

std::string error_text(int code, std::size_t offset) {
  PCRE2_UCHAR buffer[256];
  std::string message;
  if (pcre2_get_error_message(code, buffer, sizeof buffer) > 0) {
    message.assign(reinterpret_cast<const char*>(buffer));
  } else {
    message = "error " + std::to_string(code);
  }
  return message + " at offset " + std::to_string(offset);
}

}  // namespace

std::string translate_python_pattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  std::size_t i = 0;
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      if (e == 's') {
        out += in_class ? std::string(kPySpaceBody) : "[" + std::string(kPySpaceBody) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kPySpaceBody) + "]";
      } else if (e == 'Z' && !in_class) {
        out += "\\z";
      } else if (e == 'v') {
        out += "\\x0b";  // Python: the vertical tab; PCRE2: any vertical whitespace
      } else if ((e == 'u' && hex_run(p, i + 2, 4)) || (e == 'U' && hex_run(p, i + 2, 8))) {
        const std::size_t n = e == 'u' ? 4 : 8;
        out += "\\x{";
        out.append(p.substr(i + 2, n));
        out += '}';
        i += 2 + n;
        continue;
      } else {
        out.append(p.substr(i, 2));
      }
      i += 2;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      // A ']' right after '[' or '[^' is a literal member.
      if (i < p.size() && p[i] == '^') out += p[i++];
      if (i < p.size() && p[i] == ']') out += p[i++];
      continue;
    }
    if (c == '{' && i + 1 < p.size() && p[i + 1] == ',') {
      std::size_t j = i + 2;
      while (j < p.size() && p[j] >= '0' && p[j] <= '9') ++j;
      if (j < p.size() && p[j] == '}') {
        out += "{0,";
        out.append(p.substr(i + 2, j - (i + 2)));
        out += '}';
        i = j + 1;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::unique_ptr<Regex> Regex::compile_pcre2(std::string_view pattern, std::string& error) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  if (context == nullptr) throw std::bad_alloc();
  // Python's '.', '^' and '$' know only '\n' as a line end.
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  int code = 0;
  PCRE2_SIZE offset = 0;
  // \C could split a UTF-8 sequence (Python has no such escape).
  pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &code, &offset, context);
  pcre2_compile_context_free(context);
  if (compiled == nullptr) {
    if (code == PCRE2_ERROR_NOMEMORY) throw std::bad_alloc();
    error = error_text(code, offset);
    return nullptr;
  }
  // Without JIT (unsupported platform, no executable memory) the interpreter matches the same.
  pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  std::unique_ptr<Regex> regex(new (std::nothrow) Regex(compiled));
  if (!regex) {
    pcre2_code_free(compiled);
    throw std::bad_alloc();
  }
  return regex;
}

std::unique_ptr<Regex> Regex::compile(std::string_view python_pattern, std::string& error) {
  return compile_pcre2(translate_python_pattern(python_pattern), error);
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

// ---- Per-thread match state ----------------------------------------------------------------

struct MatchScope::State {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;

  ~State() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
  bool init() {
    // One pair: only the whole match is used; a pattern with groups still matches (rc 0).
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(kJitStackMin, kJitStackMax, nullptr);
    if (data == nullptr || context == nullptr || stack == nullptr) return false;
    pcre2_set_match_limit(context, kMatchLimit);
    pcre2_set_heap_limit(context, kHeapLimitKiB);
    pcre2_jit_stack_assign(context, nullptr, stack);
    return true;
  }
};

namespace {

// The thread's state. The pointer and the flag are trivially destructible, so they stay usable
// after the owner below is destroyed at thread exit; a scope opened then gets a private state.
thread_local MatchScope::State* t_state = nullptr;
thread_local bool t_state_gone = false;

struct StateOwner {
  bool armed = false;
  ~StateOwner() {
    delete t_state;
    t_state = nullptr;
    t_state_gone = true;
  }
};
thread_local StateOwner t_owner;

}  // namespace

MatchScope::MatchScope() : state_(nullptr), owned_(false) {
  if (t_state != nullptr) {
    state_ = t_state;
    return;
  }
  auto* state = new (std::nothrow) State;
  if (state == nullptr) return;
  if (!state->init()) {
    delete state;
    return;
  }
  state_ = state;
  if (t_state_gone) {
    owned_ = true;
  } else {
    t_owner.armed = true;  // registers the owner's destructor for this thread
    t_state = state;
  }
}

MatchScope::~MatchScope() {
  if (owned_) delete state_;
}

bool MatchScope::ok() const noexcept { return state_ != nullptr; }

MatchScope::Result MatchScope::substitute(const Regex& regex, std::string_view subject, ReplaceFn replace,
                                          const void* context, std::string& out) {
  if (state_ == nullptr) return Result::error;
  auto* code = static_cast<const pcre2_code*>(regex.code());
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  std::size_t position = 0;
  std::size_t copied = 0;  // subject[0, copied) is in `out`
  std::uint32_t options = 0;
  bool changed = false;
  for (;;) {
    const int rc = pcre2_match(code, text, subject.size(), position, options | PCRE2_NO_UTF_CHECK, state_->data,
                               state_->context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      if (rc == PCRE2_ERROR_NOMEMORY) throw std::bad_alloc();
      return Result::error;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state_->data);
    const std::size_t start = ovector[0];
    const std::size_t end = ovector[1];
    if (start > end || end > subject.size() || start < copied) return Result::error;  // \K tricks
    if (!changed) {
      out.clear();
      out.reserve(subject.size() + 16);
      changed = true;
    }
    out.append(subject.substr(copied, start - copied));
    replace(out, subject.substr(start, end - start), context);
    copied = end;
    position = end;
    // After an empty match the next one may start at the same place only if it is not empty.
    options = start == end ? PCRE2_NOTEMPTY_ATSTART : 0;
  }
  if (!changed) return Result::unchanged;
  out.append(subject.substr(copied));
  return Result::replaced;
}

bool MatchScope::matches_code_point(const Regex& regex, char32_t cp) {
  if (state_ == nullptr) return false;
  char buffer[4];
  std::size_t n;
  if (cp < 0x80) {
    buffer[0] = static_cast<char>(cp);
    n = 1;
  } else if (cp < 0x800) {
    buffer[0] = static_cast<char>(0xC0 | (cp >> 6));
    buffer[1] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    buffer[0] = static_cast<char>(0xE0 | (cp >> 12));
    buffer[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buffer[2] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    buffer[0] = static_cast<char>(0xF0 | (cp >> 18));
    buffer[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    buffer[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buffer[3] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 4;
  }
  // Surrogates and values above U+10FFFF are not valid UTF-8: let PCRE2 check (and reject) them.
  const std::uint32_t check = (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF ? 0 : PCRE2_NO_UTF_CHECK;
  const int rc = pcre2_match(static_cast<const pcre2_code*>(regex.code()), reinterpret_cast<PCRE2_SPTR>(buffer), n,
                             0, PCRE2_ANCHORED | PCRE2_ENDANCHORED | check, state_->data, state_->context);
  return rc >= 0;
}

// ---- UTF-8 ---------------------------------------------------------------------------------

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    // ASCII eight bytes at a time.
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(text, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      out.push_back(text[i++]);
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(text, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
