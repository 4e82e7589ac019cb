// Replaying the spool directory: the retry queue of HTTP delivery and `promptetheus spool replay`.
//
// A replayer claims a pending `<dir>/<name>.jsonl` by taking an exclusive flock on it and
// renaming it to `<stem>.replaying-<pid>-<tid>-<ns>.jsonl`; the lock is held for as long as the
// file is being replayed. Another replayer (thread or process) that finds a file locked skips
// it, so no file is ever sent by two live replayers. A claimed file whose lock can be taken
// belongs to a replayer that died: it is taken over. When replay of a file ends, the claim is
// always released: the file is deleted when every event is accounted for, otherwise the events
// still pending are put back under the pending name, so no `.replaying-` file outlives its
// replayer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event_policy.hpp"
#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// What the sink did with one batch handed to it by the replayer.
struct ReplayBatchResult {
  /// The destination failed transiently: this batch and every later one stay in the spool and
  /// the replay stops.
  bool stop = false;
  /// Indices into the batch that are still unaccounted (kept in the spool). Everything else
  /// was accounted for by the sink (delivered, dead-lettered or known duplicate).
  std::vector<std::size_t> keep;
};

/// Delivers one batch of events of one session. Called on the replaying thread.
using ReplaySink =
    std::function<ReplayBatchResult(const std::string& session_id, std::vector<EncodedEvent>& batch)>;

struct ReplayOptions {
  std::size_t batch_size = 50;
  Deadline deadline = Deadline::none();
  /// Stop after handing this many batches to the sink (0 = no limit); the rest waits.
  std::size_t max_batches = 0;
  /// When set, every line is redacted before the sink sees it (files of an older run may have
  /// been written without redaction; redaction is idempotent, so lines already redacted stay
  /// as they are).
  std::shared_ptr<const EventPolicy> policy;
  /// Where a line that is not an event goes, with its reason (never deleted, never sent):
  /// `<dead_letter_dir>/<file stem>.jsonl`. Empty: `<dir>/dead-letter`.
  std::string dead_letter_dir;
};

struct ReplayReport {
  std::size_t files_claimed = 0;
  std::size_t files_completed = 0;   ///< every event accounted for; file deleted
  std::size_t files_released = 0;    ///< events left over; put back under the pending name
  std::size_t files_busy = 0;        ///< locked by another replayer; skipped
  std::uint64_t events_sent = 0;     ///< events handed to the sink
  std::uint64_t events_kept = 0;     ///< events left in the spool (of a file left untouched: those read)
  std::uint64_t malformed_lines = 0; ///< lines that are not events, moved to the dead letter (and logged)
  bool stopped = false;              ///< the sink reported a transient failure
  bool out_of_budget = false;        ///< the deadline or the batch limit ended the pass early
  bool io_error = false;             ///< a file could not be read or released

  /// Adds another pass's report (counts add up, flags combine).
  ReplayReport& operator+=(const ReplayReport& other) noexcept {
    files_claimed += other.files_claimed;
    files_completed += other.files_completed;
    files_released += other.files_released;
    files_busy += other.files_busy;
    events_sent += other.events_sent;
    events_kept += other.events_kept;
    malformed_lines += other.malformed_lines;
    stopped = stopped || other.stopped;
    out_of_budget = out_of_budget || other.out_of_budget;
    io_error = io_error || other.io_error;
    return *this;
  }
};

/// Replays every top-level `*.jsonl` of `dir` (sorted by name; the dead letter is never
/// touched). Files are streamed: memory is bounded by one batch and the longest line, whatever
/// the file's size; the lines kept go to a temporary file that replaces the claim. Lines are
/// read in order; blank lines are dropped; a line that is not an event is moved to the dead
/// letter as a record with its reason, its source file and line number and its bytes (`_raw`,
/// or `_raw_base64` when they are not UTF-8), with a warning; if that record cannot be written
/// the line stays in the spool file.
/// Consecutive events of the same session are handed to `sink` in batches of at most
/// batch_size. Never throws.
ReplayReport replay_spool(const std::string& dir, const ReplayOptions& options,
                          const ReplaySink& sink) noexcept;

/// The pending file name a spool file belongs to: `x.replaying-1-2-3.jsonl` -> `x.jsonl`.
std::string pending_name_of(std::string_view file_name);

PROMPTETHEUS_END_DETAIL_NAMESPACE
