// The spool directory: JSONL files of pending events and the dead letter (contract §4.7).
// One module owns every rule about the spool's layout, names and permissions.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promptetheus/transport.hpp"

namespace promptetheus::detail {

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

/// Returns the JSON-spool line `json` (an object) with `"_reject_reason": reason` added in its
/// sorted position. `json` must be a canonical object line as produced by the event writer.
std::string with_reject_reason(std::string_view json, std::string_view reason);

/// Appends and prunes spool files. Stateless apart from its configuration: every append opens,
/// writes and closes the file (O_APPEND, one write per call), so a concurrent replayer that
/// renames a file never loses lines. Directories are created 0700 and files 0600.
/// Thread-safe: calls from several threads interleave whole writes.
class Spool {
 public:
  explicit Spool(std::string dir, std::uint64_t max_bytes = 256ull << 20);

  const std::string& dir() const noexcept { return dir_; }
  std::string dead_letter_dir() const;
  /// `<dir>/<safe(session_id)>.jsonl`
  std::string pending_path(std::string_view session_id) const;

  /// Appends one line per event to `<dir>/<safe(session_id)>.jsonl`, then prunes.
  /// Returns false (after logging) when the write failed; nothing was then written.
  bool append(std::string_view session_id, const std::vector<const EncodedEvent*>& events) noexcept;
  bool append(std::string_view session_id, const std::vector<EncodedEvent>& events) noexcept;

  /// Appends each event with its `_reject_reason` to `<dir>/dead-letter/<safe(session)>.jsonl`.
  bool dead_letter(std::string_view session_id,
                   const std::vector<std::pair<const EncodedEvent*, std::string>>& rejected) noexcept;

  /// Deletes top-level spool files, oldest first, while the spool exceeds max_bytes.
  /// Dead-letter files are counted but never deleted. Returns the number of files deleted.
  /// append() calls it only when its running estimate of the spool size passes max_bytes.
  std::size_t prune() noexcept;

  /// Writes `data` to `path` with O_APPEND|O_CREAT, mode 0600, creating parent dirs 0700.
  static bool append_file(const std::string& path, std::string_view data) noexcept;
  /// mkdir -p with mode 0700 for every directory created.
  static bool make_dirs(const std::string& path) noexcept;

 private:
  /// Adds `bytes` to the running size estimate and prunes when it passes max_bytes.
  void note_appended(std::uint64_t bytes) noexcept;

  std::string dir_;
  std::uint64_t max_bytes_;
  /// Estimated bytes in the spool (shared by copies of this Spool); kUnknown until first scanned.
  static constexpr std::uint64_t kUnknown = ~0ull;
  std::shared_ptr<std::atomic<std::uint64_t>> size_estimate_ =
      std::make_shared<std::atomic<std::uint64_t>>(kUnknown);
};

}  // namespace promptetheus::detail
