// When to try the API again: full-jitter backoff, Retry-After parsing and the circuit breaker
// (contract §4.6, with the C++ decisions of DESIGN.md §2: Retry-After honoured and capped).
// Everything here runs on the steady clock; the wall clock is used only to read an HTTP-date.
#pragma once

#include "promptetheus/export.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

using SteadyClock = std::chrono::steady_clock;

/// Full jitter: a delay drawn uniformly from [0, min(cap, base * 2^attempt)).
/// `attempt` starts at 0. Never negative, never at or above the cap (for a positive cap).
SteadyClock::duration backoff_delay(unsigned attempt, SteadyClock::duration base,
                                    SteadyClock::duration cap, std::mt19937_64& rng) noexcept;

/// Reads a `Retry-After` header value: delta-seconds ("120") or an HTTP-date
/// (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" or
/// asctime "Sun Nov  6 08:49:37 1994"), relative to `now`. The result is clamped to
/// [0, cap]; a date in the past means 0. Returns nullopt when the value is empty or unreadable
/// (the caller then uses its own backoff).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now,
                                                      std::chrono::seconds cap) noexcept;

/// Circuit breaker of contract §4.6: opens after `threshold` recorded failures, lets one probe
/// through (half-open) once `reset` has passed, closes on success, reopens (restarting the
/// cooldown) when the probe fails. `open_for` opens it for a custom time (used to pause on
/// authentication and configuration errors). The clock is injectable for tests.
class CircuitBreaker {
 public:
  enum class State { closed = 0, open = 1, half_open = 2 };
  using Now = std::function<SteadyClock::time_point()>;

  CircuitBreaker(unsigned threshold, SteadyClock::duration reset, Now now = {});

  /// True when an attempt may be made now. An open breaker whose cooldown has passed turns
  /// half-open and allows the probe.
  bool allow();
  void record_success() noexcept;
  void record_failure();
  /// Opens at once for `duration` (longer or shorter than the normal reset).
  void open_for(SteadyClock::duration duration);

  State state() const noexcept { return state_; }
  unsigned failures() const noexcept { return failures_; }
  /// When an open breaker will allow the next probe (meaningless unless open).
  SteadyClock::time_point reopens_at() const noexcept { return opened_at_ + cooldown_; }

 private:
  SteadyClock::time_point now() const { return now_ ? now_() : SteadyClock::now(); }

  unsigned threshold_;
  SteadyClock::duration reset_;
  Now now_;
  State state_ = State::closed;
  unsigned failures_ = 0;
  SteadyClock::time_point opened_at_{};
  SteadyClock::duration cooldown_{};
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
