// The few file operations the SDK core performs itself (artifacts, and the directories the
// spool writes into). Private by default: directories 0700, files 0600.
#pragma once

#include "promptetheus/export.hpp"

#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// mkdir -p, with mode 0700 for every directory it creates. True when `path` is a directory
/// afterwards. Never throws.
bool make_private_dirs(const std::string& path) noexcept;

/// Creates `path` (which must not exist; parent directories are created) with mode 0600 and
/// writes `data` to it. On failure nothing is left at `path`. Never throws.
bool write_new_file(const std::string& path, std::string_view data) noexcept;

/// Creates `path` as write_new_file does, with the bytes of the file `source`, copied through a
/// small buffer (a large recording is never held in memory). On failure nothing is left at
/// `path`. Never throws.
bool copy_new_file(const std::string& source, const std::string& path) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
