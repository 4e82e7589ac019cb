#include "promptetheus/tool_call.hpp"

#include <exception>

#include "core/exception_info.hpp"

namespace promptetheus {
inline namespace v0 {

ToolCall::ToolCall(std::string tool_name, nlohmann::json arguments, nlohmann::json metadata) noexcept
    : ToolCall(current_for_recording(), std::move(tool_name), std::move(arguments), std::move(metadata)) {}

ToolCall::ToolCall(const SessionHandle& session, std::string tool_name, nlohmann::json arguments,
                   nlohmann::json metadata) noexcept
    : session_(session), uncaught_at_entry_(std::uncaught_exceptions()) {
  call_id_ = session_.tool_call(std::move(tool_name), std::move(arguments), {}, std::move(metadata));
}

ToolCall::~ToolCall() {
  if (call_id_.empty()) return;
  try {
    if (std::uncaught_exceptions() > uncaught_at_entry_ && !error_) {
      session_.tool_result(call_id_, nullptr, detail::describe_unwinding_exception());
    } else {
      session_.tool_result(call_id_, std::move(result_), std::move(error_));
    }
  } catch (...) {
  }
}

void ToolCall::set_result(nlohmann::json result) noexcept { result_ = std::move(result); }

void ToolCall::set_error(std::string error) noexcept {
  try {
    error_ = std::move(error);
  } catch (...) {
  }
}

}  // namespace v0
}  // namespace promptetheus
