// The replay renderer (contract §6.12 / §7.4): one line per event, "[<seq>] <type><detail>".
#pragma once

#include <string>
#include <vector>

#include "analysis/session_store.hpp"

namespace promptetheus::analysis {

/// Appends "[<seq>] <type><detail>" (no indentation, no newline). Missing seq/type print "?".
void append_event_line(std::string& out, const Event& e);

/// Flat replay: events stable-sorted by seq (missing → 0), indented two spaces per open span
/// marker. Non-object events are skipped. Lines end with '\n'; "(no events)\n" when empty.
std::string render_flat(const std::vector<Event>& events);

/// The sort key of flat mode: seq as a number (bool → 0/1, numeric string converted, else 0).
long double flat_seq_key(const JsonView& seq);
/// The object events stable-sorted by flat_seq_key (NaN keys as 0): the order of every replay.
std::vector<const Event*> events_in_seq_order(const std::vector<Event>& events);

}  // namespace promptetheus::analysis
