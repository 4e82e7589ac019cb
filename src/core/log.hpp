// Self-diagnostics of the SDK: never thrown, never fatal, rate-limited.
#pragma once

#include "promptetheus/export.hpp"

#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

/// Writes one diagnostic line through the configured log handler (default: stderr, WARNING and
/// above, at most one line per second with a count of suppressed lines). Thread-safe, noexcept.
void log(Level level, std::string_view message) noexcept;

inline void log_warn(std::string_view m) noexcept { log(Level::warn, m); }
inline void log_debug(std::string_view m) noexcept { log(Level::debug, m); }
inline void log_error(std::string_view m) noexcept { log(Level::error, m); }

PROMPTETHEUS_END_DETAIL_NAMESPACE
