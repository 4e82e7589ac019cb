#include "core/session_file_name.hpp"

#include <cstdint>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

bool is_safe_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// `safe(x)` of contract §4.3.
std::string safe_name(std::string_view session_id) {
  std::string out;
  out.reserve(session_id.size());
  bool in_run = false;
  for (unsigned char c : session_id) {
    if (is_safe_char(c)) {
      out += static_cast<char>(c);
      in_run = false;
    } else if (!in_run) {
      out += '_';
      in_run = true;
    }
  }
  std::size_t begin = out.find_first_not_of("._");
  if (begin == std::string::npos) return "unknown-session";
  std::size_t end = out.find_last_not_of("._");
  return out.substr(begin, end - begin + 1);
}

std::uint64_t fnv1a_64(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace

std::string safe_session_name(std::string_view session_id) {
  std::string name = safe_name(session_id);
  if (name.size() <= kMaxSessionNameBytes) return name;
  // The hash is of the id, not of its safe name: ids that differ only in unsafe characters or
  // after the prefix still get files of their own.
  static const char kHexDigits[] = "0123456789abcdef";
  const std::uint64_t hash = fnv1a_64(session_id);
  name.resize(kSessionNamePrefixBytes);
  name += '-';
  for (int shift = 60; shift >= 0; shift -= 4) name += kHexDigits[(hash >> shift) & 15];
  return name;
}

bool session_name_is_shortened(std::string_view session_id) {
  return safe_name(session_id).size() > kMaxSessionNameBytes;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
