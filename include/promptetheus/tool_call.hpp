// ToolCall: an RAII guard pairing tool_call and tool_result events.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "promptetheus/export.hpp"
#include "promptetheus/session.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// Records tool_call on construction and tool_result on destruction: with the result given to
/// set_result(), the error given to set_error(), or, when the scope is left by an exception,
/// error "<type>: <what()>" (the exception passes through unchanged). Not copyable or movable.
/// Never throws; on a no-op session it does nothing.
class PROMPTETHEUS_API ToolCall {
 public:
  /// A tool call of the current() session.
  explicit ToolCall(std::string tool_name, nlohmann::json arguments = nlohmann::json::object(),
                    nlohmann::json metadata = nullptr) noexcept;
  ToolCall(const SessionHandle& session, std::string tool_name,
           nlohmann::json arguments = nlohmann::json::object(), nlohmann::json metadata = nullptr) noexcept;
  ~ToolCall();
  ToolCall(const ToolCall&) = delete;
  ToolCall& operator=(const ToolCall&) = delete;

  void set_result(nlohmann::json result) noexcept;
  void set_error(std::string error) noexcept;
  const std::string& call_id() const noexcept { return call_id_; }
  /// The W3C trace context to send with the request this tool makes, so that the called
  /// service's spans nest under the span the tool runs in (SessionHandle::trace_context on the
  /// calling thread). Invalid on a no-op session. No I/O, never throws.
  TraceContext trace_context() const noexcept { return session_.trace_context(); }

 private:
  SessionHandle session_;
  std::string call_id_;
  nlohmann::json result_;
  std::optional<std::string> error_;
  int uncaught_at_entry_;
};

PROMPTETHEUS_END_NAMESPACE
