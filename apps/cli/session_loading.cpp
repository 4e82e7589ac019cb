#include "session_loading.hpp"

#include "cli_common.hpp"

namespace promptetheus::cli {

std::optional<analysis::Session> load_target_or_report(const std::string& target, const std::string& dir,
                                                       ReadWarning where) {
  auto session = analysis::load_target(target, dir);
  if (!session) {
    print_line(not_found_message(target));
    return std::nullopt;
  }
  warn_about_read({session->source, session->stats.blank, session->stats.malformed,
                   session->stats.unreadable, session->stats.error},
                  where);
  return session;
}

}  // namespace promptetheus::cli
