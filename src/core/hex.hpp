// Lowercase hex of fixed-size ids (W3C trace and span ids, OpenTelemetry ids): the one writer
// and reader of that form.
#pragma once

#include "promptetheus/export.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// 2*N lowercase hex digits.
template <std::size_t N>
std::string lower_hex(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0F];
  }
  return out;
}

/// Reads exactly 2*N lowercase hex digits (uppercase is invalid, as in traceparent) into `out`.
/// False, `out` partly written, for any other text.
template <std::size_t N>
bool parse_lower_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  const auto value = [](char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = value(text[2 * i]);
    const int lo = value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
