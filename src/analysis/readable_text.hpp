// How the readable outputs (replay, diff, the console's lines) write text, numbers, durations
// and money: one place, so every view says the same thing the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace promptetheus::analysis {

/// Long strings are cut to this many code points, with "…" after them.
inline constexpr std::size_t kReadableTextLimit = 160;

/// `text` as one line: newline, carriage return and tab as \n \r \t, other control characters as
/// \xNN, cut to kReadableTextLimit code points.
std::string one_line(std::string_view text);
/// "0.412 ms" below a millisecond, "12.3 ms" below a second, "4.30 s" below a minute, else
/// "2m 05s".
std::string format_duration_ms(double ms);
/// 1234567 → "1,234,567".
std::string format_count(std::int64_t n);
/// "$0.000360" below a cent, else "$1.2345".
std::string format_usd(double usd);
/// "1 event", "2 events" (the count grouped).
std::string plural(std::size_t n, const char* one, const char* many);

}  // namespace promptetheus::analysis
