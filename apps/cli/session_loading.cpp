#include "session_loading.hpp"

#include "cli_common.hpp"

namespace promptetheus::cli {

namespace {

bool looks_like_a_path(const std::string& target) {
  return target.find('/') != std::string::npos || analysis::path_exists(target);
}

std::optional<analysis::Session> found(analysis::Session&& session, ReadWarning where) {
  warn_about_read({session.source, session.stats.blank, session.stats.malformed, session.stats.unreadable,
                   session.stats.error},
                  where);
  return std::move(session);
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

std::optional<analysis::Session> load_target_or_report(const std::string& target, const std::string& dir,
                                                       ReadWarning where, const ApiOptions& api,
                                                       int& exit_code) {
  if (!api.url.empty()) {
    const ApiAccess access = api_access(api);
    analysis::Session session;
    std::string error;
    switch (fetch_session(access, target, session, error)) {
      case FetchOutcome::found: return found(std::move(session), where);
      case FetchOutcome::not_found:
        print_line(not_found_message(target));
        print_error("(looked at " + access.url + ")");
        exit_code = 1;
        return std::nullopt;
      case FetchOutcome::failed:
        print_error("promptetheus: could not read '" + target + "' from " + access.url + ": " + error);
        exit_code = kApiErrorExit;
        return std::nullopt;
    }
  }

  if (auto session = analysis::load_target(target, dir)) return found(std::move(*session), where);
  std::vector<std::string> matches;
  if (!looks_like_a_path(target)) {
    if (auto id = session_id_with_prefix(target, dir, matches)) {
      if (auto session = analysis::load_target(*id, dir)) {
        print_error("note: '" + target + "' is session " + *id);
        return found(std::move(*session), where);
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
      print_error("note: '" + target + "' is not in " + analysis::display_path(dir) + "; read from " + access.url);
      return found(std::move(session), where);
    }
    looked += " and at " + access.url + (outcome == FetchOutcome::failed ? " (" + error + ")" : "");
  }
  print_line(not_found_message(target));
  print_error("(" + looked + ")");
  exit_code = 1;
  return std::nullopt;
}

}  // namespace promptetheus::cli
