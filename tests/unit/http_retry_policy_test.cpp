// Backoff bounds, Retry-After parsing and circuit-breaker transitions (contract §4.6, §4.11 #21-22).
#include <catch2/catch.hpp>
#include <set>

#include "transport/retry_policy.hpp"

using namespace promptetheus::detail;
using namespace std::chrono;

TEST_CASE("backoff: full jitter between 0 and min(base*2^a, cap), cap excluded", "[http][backoff]") {
  std::mt19937_64 rng(42);
  const auto base = milliseconds(500), cap = milliseconds(30000);
  for (unsigned a = 0; a < 70; ++a) {
    const auto ceiling = std::min<SteadyClock::duration>(cap, base * (a < 20 ? (1ll << a) : (1ll << 20)));
    std::set<SteadyClock::rep> seen;
    for (int i = 0; i < 50; ++i) {
      auto d = backoff_delay(a, base, cap, rng);
      REQUIRE(d >= SteadyClock::duration::zero());
      REQUIRE(d < ceiling);
      seen.insert(d.count());
    }
    CHECK(seen.size() > 10);  // actual jitter, not a fixed schedule
  }
}

TEST_CASE("backoff: reproducible under a seeded generator", "[http][backoff]") {
  std::mt19937_64 a(7), b(7);
  for (unsigned i = 0; i < 10; ++i) {
    CHECK(backoff_delay(i, milliseconds(500), seconds(30), a) == backoff_delay(i, milliseconds(500), seconds(30), b));
  }
  std::mt19937_64 rng(1);
  CHECK(backoff_delay(3, milliseconds(0), seconds(30), rng) == SteadyClock::duration::zero());
}

TEST_CASE("Retry-After: delta-seconds", "[http][retry-after]") {
  const auto now = system_clock::now();
  const seconds cap(30);
  CHECK(parse_retry_after("0", now, cap).value() == seconds(0));
  CHECK(parse_retry_after("3", now, cap).value() == seconds(3));
  CHECK(parse_retry_after(" 12 ", now, cap).value() == seconds(12));
  CHECK(parse_retry_after("31", now, cap).value() == seconds(30));
  CHECK(parse_retry_after("99999999999999999999999", now, cap).value() == seconds(30));
  CHECK_FALSE(parse_retry_after("", now, cap));
  CHECK_FALSE(parse_retry_after("-5", now, cap));
  CHECK_FALSE(parse_retry_after("1.5", now, cap));
  CHECK_FALSE(parse_retry_after("soon", now, cap));
}

TEST_CASE("Retry-After: HTTP-date in all three forms", "[http][retry-after]") {
  // 1994-11-06T08:49:37Z
  const auto at = system_clock::time_point(seconds(784111777));
  const seconds cap(30);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", at, cap).value() == seconds(10));
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:57 GMT", at, cap).value() == seconds(20));
  CHECK(parse_retry_after("Sun Nov  6 08:49:42 1994", at, cap).value() == seconds(5));
  // In the past: retry now. Far in the future: the cap.
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", at, cap).value() == seconds(0));
  CHECK(parse_retry_after("Fri, 31 Dec 2099 23:59:59 GMT", at, cap).value() == seconds(30));
  CHECK_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", at, cap));
  CHECK_FALSE(parse_retry_after("Sun, 36 Nov 1994 08:49:37 GMT", at, cap));
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", at, cap));
}

TEST_CASE("circuit breaker: opens at threshold, half-opens after reset, closes on success", "[http][breaker]") {
  SteadyClock::time_point t{};
  CircuitBreaker b(3, seconds(30), [&] { return t; });
  CHECK(b.allow());
  b.record_failure();
  b.record_failure();
  CHECK(b.state() == CircuitBreaker::State::closed);
  CHECK(b.allow());
  b.record_failure();
  CHECK(b.state() == CircuitBreaker::State::open);
  CHECK_FALSE(b.allow());
  t += seconds(29);
  CHECK_FALSE(b.allow());
  t += seconds(1);
  CHECK(b.allow());
  CHECK(b.state() == CircuitBreaker::State::half_open);
  b.record_success();
  CHECK(b.state() == CircuitBreaker::State::closed);
  CHECK(b.failures() == 0);
}

TEST_CASE("circuit breaker: a failed probe reopens and restarts the cooldown", "[http][breaker]") {
  SteadyClock::time_point t{};
  CircuitBreaker b(1, seconds(10), [&] { return t; });
  b.record_failure();
  CHECK(b.state() == CircuitBreaker::State::open);
  t += seconds(10);
  CHECK(b.allow());
  b.record_failure();
  CHECK(b.state() == CircuitBreaker::State::open);
  t += seconds(9);
  CHECK_FALSE(b.allow());
  t += seconds(1);
  CHECK(b.allow());
}

TEST_CASE("circuit breaker: open_for pauses for a custom time", "[http][breaker]") {
  SteadyClock::time_point t{};
  CircuitBreaker b(5, seconds(30), [&] { return t; });
  b.open_for(minutes(5));
  CHECK_FALSE(b.allow());
  t += seconds(31);
  CHECK_FALSE(b.allow());
  t += minutes(5);
  CHECK(b.allow());
  b.record_success();
  CHECK(b.state() == CircuitBreaker::State::closed);
}
