// The file name of a session's spool, dead-letter and artifact files (contract §4.3): one rule
// for the SDK (artifacts), the spool and the CLI's lookup of a session by id.
#pragma once

#include "promptetheus/export.hpp"

#include <cstddef>
#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The name a session's spool, dead-letter and artifact files are kept under: `safe(x)` of
/// contract §4.3 (runs of characters outside [A-Za-z0-9_.-] become '_', leading and trailing
/// '.'/'_' are stripped, and an empty result is "unknown-session"), except that a safe name
/// longer than kMaxSessionNameBytes is shortened to its first kSessionNamePrefixBytes bytes,
/// '-' and the 16 hex digits of the FNV-1a 64 hash of the whole id: a file name has at most
/// 255 bytes, and a replayer's claim name adds about 50 to it. The id itself is on every line.
std::string safe_session_name(std::string_view session_id);
constexpr std::size_t kMaxSessionNameBytes = 200;
constexpr std::size_t kSessionNamePrefixBytes = 160;
/// True when safe_session_name(session_id) is the shortened form.
bool session_name_is_shortened(std::string_view session_id);

PROMPTETHEUS_END_DETAIL_NAMESPACE
