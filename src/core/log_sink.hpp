// Configuration of where the SDK's diagnostics go (set from Options at init).
#pragma once

#include "promptetheus/export.hpp"

#include <functional>
#include <string_view>

#include "core/log.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

using LogHandler = std::function<void(Level, std::string_view)>;

/// Replaces the log handler (empty = default stderr sink) and the minimum level. Thread-safe.
/// The handler is called under a lock: it must not call back into the SDK.
void set_log_handler(LogHandler handler, Level min_level) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
