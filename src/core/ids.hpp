// Identifier formats of contract §1.2 and the clock.
#pragma once

#include "promptetheus/export.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// A 26-character ULID: 48-bit millisecond time + 80 bits from the OS CSPRNG, Crockford base32.
std::string new_ulid();
/// 8 lowercase hex digits from the OS CSPRNG (one per Session).
std::string new_nonce();
/// 128 random bits from a fast per-thread generator (re-seeded after fork()).
SpanId new_span_id() noexcept;
/// "span_" + 32 lowercase hex.
std::string span_id_string(const SpanId& id);
/// 32 lowercase hex (call ids, artifact ids).
std::string new_hex_id();
void append_hex(std::string& out, const SpanId& id);

/// Unix time in microseconds from the realtime clock (vDSO, no syscall).
std::int64_t now_unix_us() noexcept;
/// "YYYY-MM-DDTHH:MM:SS.ffffffZ", always six fraction digits.
inline constexpr std::size_t kTimestampLength = 27;
void append_timestamp(std::string& out, std::int64_t unix_us);
/// The same into `out[0..27)` (no terminator).
void format_timestamp(char* out, std::int64_t unix_us) noexcept;
/// Days since 1970-01-01 of a proleptic Gregorian date. Linear in `d`, so a day past the end
/// of the month counts on into the next one (as timegm normalises it).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;
/// Unix time in microseconds of a UTC timestamp `YYYY-MM-DDTHH:MM:SS[.f…]` ending in `Z` or
/// `+00:00` (the SDK's own form, and Python's isoformat of an aware UTC time); fraction digits
/// past the sixth are ignored. Nothing for any other text.
std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept;

/// Bumped in the child after fork(); pipelines and generators compare it to notice a fork.
/// Counts only once register_fork_handler() has run (every Pipeline::create calls it).
std::uint64_t fork_generation() noexcept;
void register_fork_handler() noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
