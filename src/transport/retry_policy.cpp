#include "transport/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "core/ids.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

SteadyClock::duration backoff_delay(unsigned attempt, SteadyClock::duration base,
                                    SteadyClock::duration cap, std::mt19937_64& rng) noexcept {
  if (base <= SteadyClock::duration::zero() || cap <= SteadyClock::duration::zero()) {
    return SteadyClock::duration::zero();
  }
  // base * 2^attempt, saturating at the cap without overflowing.
  SteadyClock::duration ceiling = base;
  for (unsigned i = 0; i < attempt && ceiling < cap; ++i) {
    ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
  }
  ceiling = std::min(ceiling, cap);
  std::uniform_int_distribution<SteadyClock::rep> pick(0, ceiling.count() - 1);
  return SteadyClock::duration(pick(rng));
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits on spaces, commas, dashes and colons: every HTTP-date form becomes a token list.
std::vector<std::string_view> date_tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-' || s[i] == ':')) ++i;
    std::size_t start = i;
    while (i < s.size() && !(s[i] == ' ' || s[i] == ',' || s[i] == '-' || s[i] == ':')) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool to_uint(std::string_view s, unsigned& out) {
  if (s.empty() || s.size() > 9) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

int month_index(std::string_view s) {
  static constexpr std::array<std::string_view, 12> names = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() != 3) return -1;
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == lower) return static_cast<int>(i) + 1;
  }
  return -1;
}

// Returns seconds since the epoch of an HTTP-date in any of its three forms.
std::optional<std::int64_t> parse_http_date(std::string_view value) {
  auto t = date_tokens(value);
  unsigned day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  int month = -1;
  if (t.size() == 8 && (t[7] == "GMT" || t[7] == "UTC")) {
    // "Sun, 06 Nov 1994 08:49:37 GMT" and "Sunday, 06-Nov-94 08:49:37 GMT"
    month = month_index(t[2]);
    if (!to_uint(t[1], day) || !to_uint(t[3], year) || !to_uint(t[4], hh) ||
        !to_uint(t[5], mm) || !to_uint(t[6], ss)) {
      return std::nullopt;
    }
    if (t[3].size() == 2) year += year < 70 ? 2000 : 1900;  // RFC 850 two-digit year
  } else if (t.size() == 7) {
    // "Sun Nov  6 08:49:37 1994"
    month = month_index(t[1]);
    if (!to_uint(t[2], day) || !to_uint(t[3], hh) || !to_uint(t[4], mm) || !to_uint(t[5], ss) ||
        !to_uint(t[6], year)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (month < 1 || day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 || mm > 59 ||
      ss > 60) {
    return std::nullopt;
  }
  return days_from_civil(year, static_cast<unsigned>(month), day) * 86400 + hh * 3600 + mm * 60 +
         ss;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now,
                                                      std::chrono::seconds cap) noexcept {
  try {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    std::int64_t delay = 0;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      // delta-seconds; anything longer than the cap's digits is simply "the cap".
      if (value.size() > 12) return cap;
      delay = std::stoll(std::string(value));
    } else {
      auto at = parse_http_date(value);
      if (!at) return std::nullopt;
      auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      delay = *at - now_s;
    }
    delay = std::clamp<std::int64_t>(delay, 0, cap.count());
    return std::chrono::seconds(delay);
  } catch (...) {
    return std::nullopt;
  }
}

CircuitBreaker::CircuitBreaker(unsigned threshold, SteadyClock::duration reset, Now now)
    : threshold_(std::max(1u, threshold)), reset_(reset), now_(std::move(now)) {}

bool CircuitBreaker::allow() {
  switch (state_) {
    case State::closed:
      return true;
    case State::half_open:
      return true;  // probing: the next recorded outcome closes or reopens it
    case State::open:
      if (now() - opened_at_ >= cooldown_) {
        state_ = State::half_open;
        return true;
      }
      return false;
  }
  return false;
}

void CircuitBreaker::record_success() noexcept {
  state_ = State::closed;
  failures_ = 0;
}

void CircuitBreaker::record_failure() {
  ++failures_;
  if (state_ == State::half_open || failures_ >= threshold_) open_for(reset_);
}

void CircuitBreaker::open_for(SteadyClock::duration duration) {
  state_ = State::open;
  opened_at_ = now();
  cooldown_ = duration;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
