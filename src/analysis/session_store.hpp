// Reading spooled sessions leniently (contract §6 target resolution and JSONL rules): blank,
// torn and garbage lines are skipped and counted, any JSON value is kept, an unreadable file
// gives no events. Nothing here throws on bad input.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/json_view.hpp"

namespace promptetheus::analysis {

/// One spooled event (any JSON value), with the envelope members the tools read cached.
/// Views point into the text owned by the Session it came from.
struct Event {
  JsonView value;
  JsonView seq, type, payload, span_id, parent_id;
  JsonView timestamp;  // captured too: the timeline reads it for every event

  bool is_object() const noexcept { return value.is_object(); }
  /// True for state_change events whose payload.name is span_start / span_end.
  bool is_span_start() const;
  bool is_span_end() const;
  bool is_span_marker() const { return is_span_start() || is_span_end(); }
  /// payload[key] when payload is an object, else absent.
  JsonView payload_get(std::string_view key) const noexcept { return payload.get(key); }
};

/// What reading a file found, for --json output and diagnostics.
struct ReadStats {
  std::uint64_t lines = 0;      // lines in the file (including blank and malformed)
  std::uint64_t blank = 0;      // lines with only whitespace
  std::uint64_t malformed = 0;  // non-blank lines that are not JSON (torn writes, garbage)
  bool unreadable = false;      // the file exists but could not be read
  std::string error;            // why, when unreadable
};

/// The bytes events point into: a file read whole (uninitialised buffer, no zero-filling) or
/// a string. Never a memory map: spool files may be truncated while read, which would fault.
class TextBuffer {
 public:
  explicit TextBuffer(std::string s) : owned_(std::move(s)) {}
  TextBuffer(std::unique_ptr<char[]> bytes, std::size_t size) : bytes_(std::move(bytes)), size_(size) {}
  std::string_view view() const noexcept {
    return bytes_ ? std::string_view(bytes_.get(), size_) : std::string_view(owned_);
  }

 private:
  std::string owned_;
  std::unique_ptr<char[]> bytes_;
  std::size_t size_ = 0;
};

/// The events of one session file, in file order. Owns the text the events point into.
struct Session {
  std::string source;  // the path that was read
  std::shared_ptr<const TextBuffer> text;
  std::vector<Event> events;
  ReadStats stats;
};

/// Builds an Event from a parsed value (caches the envelope members when it is an object).
Event make_event(const JsonView& value);

/// Splits `text` into lines and keeps every line that parses as JSON (§6 JSONL rules).
Session parse_jsonl(std::shared_ptr<const TextBuffer> text, std::string source = {});
Session parse_jsonl(std::string text, std::string source = {});
/// Parses one line as an event. Returns false when it is not JSON.
bool parse_event_line(std::string_view line, Event& out);

/// Reads a JSONL file; a missing or unreadable file gives no events and stats.unreadable.
Session read_jsonl_file(const std::string& path);

/// Resolves a replay/diff/fingerprint target (§6): an existing file (`.json` → a document with
/// "events" or a list; else JSONL), or a session id looked up in `dir` as load_session_id does.
/// nullopt = not found.
std::optional<Session> load_target(const std::string& target, const std::string& dir);

/// Streams the events of a JSONL file through `on_event` in file order without holding the file
/// in memory (an Event's views are valid only during the call). An unreadable file gives no
/// events and stats.unreadable.
using EventCallback = void (*)(void* context, const Event& e);
void stream_jsonl_file(const std::string& path, EventCallback on_event, void* context, ReadStats& stats);

/// load_target, streaming: JSONL files are streamed, `.json` documents are loaded whole.
/// Returns false when the target is not found; `source` receives the path read.
bool stream_target(const std::string& target, const std::string& dir, EventCallback on_event, void* context,
                   ReadStats& stats, std::string& source);

/// Looks a session id up in `dir` only (export): `<dir>/<id>.jsonl` or a `*.jsonl` with that stem,
/// or for an id too long for a file name, the shortened name the SDK spools it under.
std::optional<Session> load_session_id(const std::string& id, const std::string& dir);

/// A `*.jsonl` file of a spool directory.
struct SpoolFile {
  std::string name;  // file name including ".jsonl"
  std::string stem;  // name without ".jsonl"
  std::string path;
  std::uint64_t bytes = 0;
  bool in_outbox = false;  // under `<spool>/outbox/`: HTTP delivery's retry backlog
};

enum class DirState { missing, not_a_directory, unreadable, ok };
/// Lists the regular `*.jsonl` files directly in `dir`, sorted by name (code point order).
DirState list_jsonl(const std::string& dir, std::vector<SpoolFile>& files, std::string* error = nullptr);
/// The pending files of a spool directory: its recorded runs (directly in `dir`, as
/// list_jsonl), then the retry backlog in `<dir>/outbox` (in_outbox set), each sorted by name.
/// The state is that of `dir`.
DirState list_spool_pending(const std::string& dir, std::vector<SpoolFile>& files, std::string* error = nullptr);

bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);
bool path_exists(const std::string& path);

/// Counts of one JSONL file: non-blank lines, and lines that parse as JSON.
struct LineCounts {
  std::uint64_t non_blank = 0;
  std::uint64_t parsed = 0;
  bool unreadable = false;
};
LineCounts count_lines(const std::string& path);

/// True when a line is empty after Python str.strip().
bool is_blank_line(std::string_view line) noexcept;

/// How Python prints a pathlib.Path built from `p` ("a//b/./" → "a/b", "" → ".").
std::string display_path(const std::string& p);
/// `dir / name` as pathlib joins them.
std::string join_path(const std::string& dir, const std::string& name);

/// Reads a whole file. Returns nullptr with a reason on failure.
std::shared_ptr<const TextBuffer> read_whole_file(const std::string& path, std::string& error);

}  // namespace promptetheus::analysis
