#include "spool_summaries.hpp"

#include "cli_common.hpp"

#include <algorithm>

namespace promptetheus::cli {

namespace {

// The tags a session was given: state_change events session_started and tags_added carry them
// in payload.after.tags (contract §1.6).
std::vector<std::string> session_tags(const std::vector<analysis::Event>& events) {
  std::vector<std::string> tags;
  for (const analysis::Event& e : events) {
    if (!e.type.string_equals("state_change")) continue;
    const analysis::JsonView name = e.payload_get("name");
    if (!name.string_equals("session_started") && !name.string_equals("tags_added")) continue;
    e.payload_get("after").get("tags").for_each_element([&](const analysis::JsonView& tag) {
      if (!tag.is_string()) return;
      std::string t = tag.as_string();
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(std::move(t));
    });
  }
  return tags;
}

}  // namespace

std::vector<SpoolSessionSummary> summarise_spool(const std::string& dir, analysis::DirState& state,
                                                 std::string& error) {
  std::vector<analysis::SpoolFile> files;
  state = analysis::list_spool_pending(dir, files, &error);
  std::vector<SpoolSessionSummary> summaries;
  summaries.reserve(files.size());
  for (analysis::SpoolFile& f : files) {
    const analysis::Session session = analysis::read_jsonl_file(f.path);
    SpoolSessionSummary s;
    s.overview = analysis::build_timeline(session.events, configured_prices(), analysis::EntryText::none).overview;
    s.fingerprint = analysis::fingerprint_v1(session.events);
    s.stats = session.stats;
    s.tags = session_tags(session.events);
    s.file = std::move(f);
    summaries.push_back(std::move(s));
  }
  return summaries;
}

}  // namespace promptetheus::cli
