// The spool directory: JSONL files of pending events and the dead letter (contract §4.7).
// One module owns every rule about the spool's layout, names and permissions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/session_file_name.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The folder of a spool directory that holds the dead letter: `<dir>/dead-letter`.
inline constexpr char kDeadLetterDirName[] = "dead-letter";
/// The folder of a spool directory that holds the retry backlog of HTTP delivery:
/// `<dir>/outbox`. Files directly in `<dir>` are recorded runs (spool mode, or a custom
/// transport's overflow): nothing sends or deletes them unless the user asks (`spool replay`).
inline constexpr char kOutboxDirName[] = "outbox";

/// Where a Spool appends pending events.
enum class PendingPlace {
  recorded_runs,  ///< `<dir>/<session>.jsonl`: the runs of spool mode, kept until replayed by hand
  outbox,         ///< `<dir>/outbox/<session>.jsonl`: events HTTP delivery retries by itself
};

/// A regular file directly inside a directory whose name ends in ".jsonl".
struct JsonlFile {
  std::string name;  ///< the file name, ".jsonl" included
  std::string path;  ///< `<dir>/<name>`
  std::uint64_t size = 0;
  struct timespec mtime {};
};

/// The one listing of a directory's `*.jsonl` files (pruning, replay, the CLI): every entry whose
/// name ends in ".jsonl" and that is a regular file (symbolic links followed unless
/// `follow_links` is false), in directory order. Returns 0, or the errno of opening `dir` (then
/// `files` is empty). Callers filter and sort further as they need.
int list_jsonl_files(const std::string& dir, std::vector<JsonlFile>& files, bool follow_links = true);

/// Returns the JSON-spool line `json` (an event envelope) with `"_reject_reason": reason` added
/// as its first key, which is its sorted position since every envelope key is lowercase.
/// Anything but an object is returned unchanged.
std::string with_reject_reason(std::string_view json, std::string_view reason);

/// How long an append waits for its file while another process holds its lock (a replayer
/// between claim and rename, another process appending to the same session, a tool).
struct LockWait {
  Deadline until;                             ///< give up once this has passed
  const std::atomic<bool>* cancel = nullptr;  ///< or once this is set (shutdown's interrupt)
  bool* locked_out = nullptr;                 ///< set to true when the append gave up on the lock

  /// No waiting for another process: for a caller (producer) thread, which must never block.
  /// (A write of this process to the same file is still waited for: it is short.)
  static LockWait none(bool* locked_out = nullptr) noexcept {
    return LockWait{Deadline{Clock::time_point::min()}, nullptr, locked_out};
  }
  /// For callers without a budget of their own (the HTTP transport's fallback, replay,
  /// artifacts): about 200 ms, what every append waited before waits could be given a deadline.
  static LockWait standard() noexcept { return LockWait{Deadline::after(std::chrono::milliseconds(200))}; }
};

/// Appends and prunes spool files. Every append opens, writes and closes the file (O_APPEND, one
/// write per call), so a concurrent replayer that renames a file never loses lines. Directories
/// are created 0700 and files 0600. Thread-safe: calls from several threads interleave whole
/// writes.
///
/// Copies of a Spool share one state: the running size estimate, the count of events removed by
/// pruning, and the set of live sessions (appended to and not yet ended), whose pending files
/// pruning never deletes.
class Spool {
 public:
  explicit Spool(std::string dir, std::uint64_t max_bytes = 256ull << 20,
                 PendingPlace place = PendingPlace::recorded_runs);

  const std::string& dir() const noexcept { return dir_; }
  std::string dead_letter_dir() const;
  /// `<dir>` or `<dir>/outbox`, as the Spool's PendingPlace says.
  const std::string& pending_dir() const noexcept { return pending_dir_; }
  /// `<pending_dir>/<safe(session_id)>.jsonl`
  std::string pending_path(std::string_view session_id) const;

  /// Appends one line per event to `<dir>/<safe(session_id)>.jsonl`, then prunes when the spool
  /// is over its cap. The session ends when one of `events` is its end (EncodedEvent::
  /// ends_session) or `ends_session` is set. Until it ends it is live and pruning leaves its
  /// pending file alone; once it ends it is released (as by release()) after the lines are
  /// written, even when `events` is empty or the write failed. Returns false (after logging) when the write failed; nothing was
  /// then written. A file locked by another process is waited for as `wait` allows.
  bool append(std::string_view session_id, const std::vector<const EncodedEvent*>& events,
              bool ends_session = false, const LockWait& wait = LockWait::standard()) noexcept;
  bool append(std::string_view session_id, const std::vector<EncodedEvent>& events,
              bool ends_session = false, const LockWait& wait = LockWait::standard()) noexcept;

  /// Marks the session as ended: its pending file may be pruned from now on. Safe to call for
  /// a session that was never appended to or is already released.
  void release(std::string_view session_id) noexcept;
  /// Whether the session is live (appended to without ending and not released).
  bool is_live(std::string_view session_id) const noexcept;

  /// Events (lines) removed by pruning so far, by this Spool and every copy of it.
  std::uint64_t pruned_events() const noexcept;

  /// Appends each event with its `_reject_reason` to `<dir>/dead-letter/<safe(session)>.jsonl`.
  bool dead_letter(std::string_view session_id,
                   const std::vector<std::pair<const EncodedEvent*, std::string>>& rejected) noexcept;

  /// Deletes pending spool files (recorded runs and the outbox alike), oldest (by mtime) first,
  /// while the spool exceeds max_bytes.
  /// Never deleted: the pending file of a live session (nor a replayer's claim of it), a file
  /// locked by a writer or a replayer, and the dead letter (which counts toward the size: its
  /// event files, and the refused artifacts and OTLP requests kept below it).
  /// Each deleted file's lines are counted, under its lock, into pruned_events(), and one
  /// warning names the events and files removed. When only live or locked data remains over
  /// the cap, it is kept, with one warning until the spool is under the cap again.
  /// Returns the number of files deleted. append() calls it only when its running estimate of
  /// the spool size passes max_bytes (or, while the cap cannot be met, by a further margin).
  std::size_t prune() noexcept;

  /// Writes `data` to `path` with O_APPEND|O_CREAT, mode 0600, creating parent dirs 0700, under
  /// the file's flock, waiting for it as `wait` allows.
  static bool append_file(const std::string& path, std::string_view data,
                          const LockWait& wait = LockWait::standard()) noexcept;

 private:
  /// Adds `bytes` to the running size estimate and prunes when it passes max_bytes.
  void note_appended(std::uint64_t bytes) noexcept;

  /// prune() with the state's prune lock held.
  std::size_t prune_locked() noexcept;
  /// Marks the session live (before its lines are written, so a concurrent prune skips them).
  void protect(std::string_view session_id) noexcept;

  /// What copies of this Spool share (defined in spool.cpp).
  struct State;

  std::string dir_;
  std::string pending_dir_;
  std::uint64_t max_bytes_;
  std::shared_ptr<State> state_;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
