#include "analysis/readable_text.hpp"

#include <cmath>
#include <cstdio>

#include "analysis/unicode.hpp"

namespace promptetheus::analysis {

std::string one_line(std::string_view text) {
  const std::string_view kept = code_point_prefix(text, kReadableTextLimit);
  std::string out;
  out.reserve(kept.size() + 8);
  for (const char c : kept) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  if (kept.size() < text.size()) out += "…";
  return out;
}

std::string format_duration_ms(double ms) {
  char buf[48];
  if (!std::isfinite(ms)) return "? ms";
  if (ms < 1) {
    std::snprintf(buf, sizeof buf, "%.3f ms", ms);  // spans are measured to the microsecond
  } else if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  } else if (ms < 60000) {
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  } else {
    const long long seconds = std::llround(ms / 1000);
    std::snprintf(buf, sizeof buf, "%lldm %02llds", seconds / 60, seconds % 60);
  }
  return buf;
}

std::string format_count(std::int64_t n) {
  const std::uint64_t magnitude =
      n < 0 ? ~static_cast<std::uint64_t>(n) + 1 : static_cast<std::uint64_t>(n);
  const std::string digits = std::to_string(magnitude);
  std::string out = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string format_usd(double usd) {
  char buf[48];
  std::snprintf(buf, sizeof buf, usd != 0 && std::fabs(usd) < 0.01 ? "$%.6f" : "$%.4f", usd);
  return buf;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return format_count(static_cast<std::int64_t>(n)) + " " + (n == 1 ? one : many);
}

}  // namespace promptetheus::analysis
