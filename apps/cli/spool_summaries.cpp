#include "spool_summaries.hpp"

#include "cli_common.hpp"

namespace promptetheus::cli {

std::vector<SpoolSessionSummary> summarise_spool(const std::string& dir, analysis::DirState& state,
                                                 std::string& error) {
  std::vector<analysis::SpoolFile> files;
  state = analysis::list_spool_pending(dir, files, &error);
  std::vector<SpoolSessionSummary> summaries;
  summaries.reserve(files.size());
  for (analysis::SpoolFile& f : files) {
    const analysis::Session session = analysis::read_jsonl_file(f.path);
    SpoolSessionSummary s;
    s.overview = analysis::build_timeline(session.events, configured_prices()).overview;
    s.fingerprint = analysis::fingerprint_v1(session.events);
    s.stats = session.stats;
    s.file = std::move(f);
    summaries.push_back(std::move(s));
  }
  return summaries;
}

}  // namespace promptetheus::cli
