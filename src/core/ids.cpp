#include "core/ids.hpp"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }


void os_random(void* buffer, std::size_t size) {
  auto* p = static_cast<unsigned char*>(buffer);
  std::size_t filled = 0;
  while (filled < size) {
    ssize_t n = ::getrandom(p + filled, size - filled, 0);
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled < size) {
    // getrandom unavailable: fall back to the standard library's source.
    std::random_device rd;
    for (; filled < size; ++filled) p[filled] = static_cast<unsigned char>(rd());
  }
}

// xoshiro256** seeded from the OS; re-seeded when the thread notices a fork so that parent and
// child never emit the same ids.
struct FastRandom {
  std::uint64_t s[4] = {0, 0, 0, 0};
  std::uint64_t generation = ~0ull;

  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    std::uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
    if (gen != generation) {
      generation = gen;
      os_random(s, sizeof s);
      if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;
    }
    std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

thread_local FastRandom t_random;

const char kHex[] = "0123456789abcdef";
const char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

}  // namespace

void register_fork_handler() noexcept {
  static std::once_flag once;
  try {
    std::call_once(once, [] { pthread_atfork(nullptr, nullptr, on_fork_child); });
  } catch (...) {
  }
}

std::uint64_t fork_generation() noexcept { return g_fork_generation.load(std::memory_order_relaxed); }

std::string new_ulid() {
  register_fork_handler();
  std::uint64_t ms = static_cast<std::uint64_t>(now_unix_us() / 1000);
  unsigned char rnd[10];
  os_random(rnd, sizeof rnd);
  std::string out(26, '0');
  // The 48-bit millisecond time in 10 characters, most significant 5-bit group first.
  for (int i = 9; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kCrockford[ms & 31];
    ms >>= 5;
  }
  // 80 random bits in 16 characters, big-endian 5-bit groups.
  int bit = 0;
  for (int i = 0; i < 16; ++i) {
    int value = 0;
    for (int b = 0; b < 5; ++b, ++bit) {
      value = (value << 1) | ((rnd[bit / 8] >> (7 - bit % 8)) & 1);
    }
    out[static_cast<std::size_t>(10 + i)] = kCrockford[value];
  }
  return out;
}

std::string new_nonce() {
  unsigned char rnd[4];
  os_random(rnd, sizeof rnd);
  std::string out;
  for (unsigned char c : rnd) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

SpanId new_span_id() noexcept {
  SpanId id;
  std::uint64_t a = t_random.next(), b = t_random.next();
  std::memcpy(id.data(), &a, 8);
  std::memcpy(id.data() + 8, &b, 8);
  return id;
}

void append_hex(std::string& out, const SpanId& id) {
  char buf[32];
  for (std::size_t i = 0; i < id.size(); ++i) {
    buf[2 * i] = kHex[id[i] >> 4];
    buf[2 * i + 1] = kHex[id[i] & 15];
  }
  out.append(buf, sizeof buf);
}

std::string span_id_string(const SpanId& id) {
  std::string out = "span_";
  append_hex(out, id);
  return out;
}

std::string new_hex_id() {
  std::string out;
  out.reserve(32);
  append_hex(out, new_span_id());
  return out;
}

std::int64_t now_unix_us() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void format_timestamp(char* out, std::int64_t unix_us) noexcept {
  // The worker formats many events per second: cache the date-time prefix of the last second.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached_prefix[64];
  std::int64_t second = unix_us >= 0 ? unix_us / 1000000 : (unix_us - 999999) / 1000000;
  std::int64_t micros = unix_us - second * 1000000;
  if (second != cached_second) {
    time_t t = static_cast<time_t>(second);
    struct tm tm;
    gmtime_r(&t, &tm);
    std::snprintf(cached_prefix, sizeof cached_prefix, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  std::memcpy(out, cached_prefix, 19);
  out[19] = '.';
  for (int i = 25; i >= 20; --i) {
    out[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  out[26] = 'Z';
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  // Howard Hinnant's civil algorithm: years counted from March, so the leap day ends a year.
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept {
  // Digits at [at, at + n) as a number, or -1.
  const auto digits = [&](std::size_t at, std::size_t n) -> int {
    if (at + n > text.size()) return -1;
    int value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const int hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60 || text[4] != '-' || text[7] != '-' ||
      text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  std::size_t i = 19;
  std::int64_t micros = 0;
  if (i < text.size() && text[i] == '.') {
    int count = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++count) {
      if (count < 6) micros = micros * 10 + (text[i] - '0');
    }
    if (count == 0) return std::nullopt;
    for (; count < 6; ++count) micros *= 10;
  }
  const std::string_view zone = text.substr(i);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;
  // Computed, not timegm: the timeline parses one per event. A second of 60 counts on into the
  // next minute, as timegm counts it.
  const std::int64_t seconds = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                               hour * 3600 + minute * 60 + second;
  return seconds * 1000000 + micros;
}

void append_timestamp(std::string& out, std::int64_t unix_us) {
  char buf[kTimestampLength];
  format_timestamp(buf, unix_us);
  out.append(buf, kTimestampLength);
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
