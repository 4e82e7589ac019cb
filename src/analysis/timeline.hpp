// A session read for a person debugging it: every event in time order as one readable line
// (span names, the tool's name on its result with the result or the error, LLM tokens and cost,
// goal-check mismatches, the end error), times relative to the session's start, and the
// session's totals. The default `replay` prints it; `replay --format reference` keeps the
// reference CLI's lines (replay.hpp). Nothing here throws on odd values, only std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/session_store.hpp"
#include "promptetheus/policy.hpp"

namespace promptetheus::analysis {

struct TimelineEntry {
  const Event* event = nullptr;
  std::string seq;                  // as replay prints it ("?" when missing)
  std::string type;                 // "?" when missing
  std::optional<double> offset_ms;  // since the session's first timestamp
  int depth = 0;                    // spans open at this event (span markers, as in replay)
  std::string text;                 // what happened, one line (readable_text.hpp's one_line)
  bool failure = false;             // a failed tool call or goal check, an error, a failed end
};

struct SessionOverview {
  std::optional<std::string> session_id, agent, goal, status, end_error;
  std::optional<std::string> started_at, ended_at;  // timestamps of the first and last events
  std::optional<double> duration_ms;                // first to last timestamp
  std::size_t events = 0;  // object events
  std::size_t spans = 0;
  std::size_t tool_calls = 0;
  std::size_t failed_tool_calls = 0;
  std::size_t errors = 0;  // `error` events
  std::size_t failed_goal_checks = 0;
  std::size_t failures = 0;  // entries marked as failures
  policy::SessionCost cost;
};

/// A span on the session's time axis, for a waterfall.
struct SpanTiming {
  std::string span_id;
  std::optional<std::string> parent_id;
  std::optional<std::string> name;
  std::optional<double> start_ms, end_ms;  // offsets of its start and end markers
  std::optional<double> duration_ms;       // as its end marker says
  int depth = 0;                           // below its parent span, when that started first
  bool failed = false;                     // one of its own events is a failure
};

struct Timeline {
  SessionOverview overview;
  std::vector<TimelineEntry> entries;  // object events, stable-sorted by seq as replay sorts them
  std::vector<SpanTiming> spans;       // in the order they started
  std::unordered_map<std::string, std::string> tool_names;  // call_id → tool name, of every tool_call
};

/// Which entries build_timeline writes the text of: all (what the readable outputs show), or
/// none, for a caller that needs the totals, failures and spans and the text of a few entries
/// (describe_entry): writing every line is most of the work on a large session.
enum class EntryText { all, none };

/// Builds the timeline. `prices` replaces the default price table when given.
Timeline build_timeline(const std::vector<Event>& events,
                        const std::map<std::string, policy::Price>* prices = nullptr,
                        EntryText text = EntryText::all);

/// Writes the text of entries[index] (of a timeline built with EntryText::none). A tool
/// result is named after its call wherever that call is in the session; with EntryText::all
/// only a call before it names it.
void describe_entry(Timeline& timeline, std::size_t index,
                    const std::map<std::string, policy::Price>* prices = nullptr);

/// The readable replay: a header (session, agent, goal, status, start), one line per event
/// ("+<seconds>s  [<seq>] <indent><type> <text>", failures marked with "!"), and a closing
/// summary line. "(no events)\n" when there is none.
std::string render_timeline(const Timeline& timeline);

/// The readable run tree: spans nested by parent as in the reference tree (contract §7.3), but
/// within each span its events and its child spans interleaved in seq order, as they happened.
std::string render_timeline_tree(const std::vector<Event>& events, const Timeline& timeline);

/// The summary line: "<status> · <duration> · <n> events · <k> LLM call(s) · <tokens> tokens ·
/// $<cost> · <f> failure(s)".
std::string summary_line(const SessionOverview& overview);

/// {"overview": {...}, "entries": [{"seq", "type", "offset_ms", "depth", "text", "failure",
/// "span_id", "event"}], "spans": [{"span_id", "parent_id", "name", "start_ms", "end_ms",
/// "duration_ms", "depth", "failed"}]}: the timeline as data, each entry with its event as stored.
nlohmann::ordered_json timeline_json(const Timeline& timeline);

/// Appends the entries [begin, end) (clamped to the timeline) as the JSON array that
/// timeline_json's "entries" holds: the one place that shape is written. It is written straight
/// to text, as a report of 100 000 events cannot afford a tree: an event as its stored text when
/// every JSON reader takes that text alike, else (NaN, Infinity, a lone surrogate escape, a
/// number beyond a double) as the string of its Python repr. The text may sit inside an HTML
/// <script> element: `<`, `>`, `&`, U+2028 and U+2029 are written as \u escapes.
void append_entries_json(std::string& out, const Timeline& timeline, std::size_t begin, std::size_t end);
nlohmann::ordered_json overview_json(const SessionOverview& overview);
/// The "spans" member of timeline_json.
nlohmann::ordered_json spans_json(const std::vector<SpanTiming>& spans);

}  // namespace promptetheus::analysis
