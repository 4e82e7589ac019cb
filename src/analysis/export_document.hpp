// The `export` document (contract §6.11), as json.dumps(indent=2, ensure_ascii=True) writes it.
#pragma once

#include <string>

#include "analysis/session_store.hpp"

namespace promptetheus::analysis {

/// {"session_id", "events" (as stored), "summary": {"count", "types" in first-seen order}}.
/// No trailing newline.
std::string export_document(const std::string& session_id, const Session& session);

}  // namespace promptetheus::analysis
