// A short brief for fixing a failed run, written from its failure context (failure_context.hpp):
// what failed and where, the evidence in a few sentences, and the next steps, with the commands
// that show more. What `promptetheus dev` answers on POST /mcp/fix-brief.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace promptetheus::analysis {

/// {"session_id", "failed", "title", "summary", "first_failure": {"seq", "type", "text"} | null,
///  "next_steps": [...], "commands": [...]} from `context` (failure_context's document, with
/// "session_id"). `passing_session_id` is a run of the same agent that passed, to compare with.
/// Pure; nothing here throws but std::bad_alloc.
nlohmann::json fix_brief(const nlohmann::json& context, const std::optional<std::string>& passing_session_id);

}  // namespace promptetheus::analysis
