// Replacing a user's file (an MCP client's configuration) so that a crash, a full disk or a
// concurrent reader never sees it half written.
#pragma once

#include <string>
#include <string_view>

namespace promptetheus::cli {

/// Writes `data` to a temporary file next to `path` and renames it over `path`, creating the
/// missing parent directories. A symbolic link stays one: the file it points to is replaced.
/// An existing file keeps its permission bits; a new one gets
/// 0666 minus the umask. On failure `path` is unchanged, no temporary file is left, and `error`
/// says what went wrong. Never throws.
bool write_file_atomically(const std::string& path, std::string_view data, std::string& error);

/// Writes all of `data` to `fd`, retrying interrupted and short writes; false when writing
/// failed (errno says why), e.g. the other end of a pipe is gone. Blocks. Never throws.
bool write_all(int fd, std::string_view data);

}  // namespace promptetheus::cli
