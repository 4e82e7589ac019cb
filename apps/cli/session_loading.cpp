#include "session_loading.hpp"

#include "cli_common.hpp"

namespace promptetheus::cli {

namespace {

bool looks_like_a_path(const std::string& target) {
  return target.find('/') != std::string::npos || analysis::path_exists(target);
}

}  // namespace

std::optional<std::string> session_id_with_prefix(const std::string& prefix, const std::string& dir,
                                                  std::vector<std::string>& matches) {
  std::vector<analysis::SpoolFile> files;
  if (prefix.empty() || analysis::list_spool_pending(dir, files) != analysis::DirState::ok) return std::nullopt;
  for (const analysis::SpoolFile& f : files) {
    if (f.stem.compare(0, prefix.size(), prefix) == 0) matches.push_back(f.stem);
  }
  if (matches.size() != 1) return std::nullopt;
  return matches.front();
}

TargetLookup look_up_target(const std::string& target, const std::string& dir, const ApiOptions& api) {
  TargetLookup lookup;
  if (!api.url.empty()) {
    const ApiAccess access = api_access(api);
    analysis::Session session;
    std::string error;
    switch (fetch_session(access, target, session, error)) {
      case FetchOutcome::found: lookup.session = std::move(session); return lookup;
      case FetchOutcome::not_found:
        lookup.not_found = not_found_message(target);
        lookup.detail = "(looked at " + access.url + ")";
        lookup.exit_code = 1;
        return lookup;
      case FetchOutcome::failed:
        lookup.detail = "promptetheus: could not read '" + target + "' from " + access.url + ": " + error;
        lookup.exit_code = kApiErrorExit;
        return lookup;
    }
  }

  if (auto session = analysis::load_target(target, dir)) {
    lookup.session = std::move(session);
    return lookup;
  }
  std::vector<std::string> matches;
  if (!looks_like_a_path(target)) {
    if (auto id = session_id_with_prefix(target, dir, matches)) {
      if (auto session = analysis::load_target(*id, dir)) {
        lookup.notes.push_back("note: '" + target + "' is session " + *id);
        lookup.session = std::move(session);
        return lookup;
      }
    }
  }
  std::string looked = "looked in " + analysis::display_path(dir);
  if (matches.size() > 1) {
    looked += ", where '" + target + "' starts " + std::to_string(matches.size()) +
              " session ids (give more of the id)";
  } else if (!looks_like_a_path(target)) {
    const ApiAccess access = api_access(api);
    analysis::Session session;
    std::string error;
    const FetchOutcome outcome = fetch_session(access, target, session, error, kLookupTimeout);
    if (outcome == FetchOutcome::found) {
      lookup.notes.push_back("note: '" + target + "' is not in " + analysis::display_path(dir) + "; read from " +
                             access.url);
      lookup.session = std::move(session);
      return lookup;
    }
    looked += " and at " + access.url + (outcome == FetchOutcome::failed ? " (" + error + ")" : "");
  }
  lookup.not_found = not_found_message(target);
  lookup.detail = "(" + looked + ")";
  lookup.exit_code = 1;
  return lookup;
}

std::optional<analysis::Session> load_target_or_report(const std::string& target, const std::string& dir,
                                                       ReadWarning where, const ApiOptions& api,
                                                       int& exit_code) {
  TargetLookup lookup = look_up_target(target, dir, api);
  for (const std::string& note : lookup.notes) print_error(note);
  if (lookup.session) {
    const analysis::Session& s = *lookup.session;
    warn_about_read({s.source, s.stats.blank, s.stats.malformed, s.stats.unreadable, s.stats.error}, where);
    return std::move(lookup.session);
  }
  if (!lookup.not_found.empty()) print_line(lookup.not_found);
  print_error(lookup.detail);
  exit_code = lookup.exit_code;
  return std::nullopt;
}

}  // namespace promptetheus::cli
