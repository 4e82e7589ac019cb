// Status: how fallible setup calls report problems. Nothing in the SDK throws into the host.
#pragma once

#include <string>
#include <utility>

#include "promptetheus/export.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// Error codes. New codes may be added: switch statements should have a `default:`.
enum class ErrorCode {
  ok = 0,
  invalid_argument,   ///< a configuration value was rejected (the SDK fell back to a default)
  not_initialized,    ///< the call needs init() first
  timeout,            ///< the bound given was reached before the work finished
  io,                 ///< a file or directory could not be used
  transport,          ///< the transport could not be built
  shutdown,           ///< the client is already shut down
  internal,           ///< an unexpected internal error (reported, never thrown)
};

/// Result of a fallible call. Cheap to copy. `ok()` is true when nothing went wrong; a non-ok
/// status still means the SDK is usable (it fell back to safe behaviour and says why).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const noexcept { return code_ == ErrorCode::ok; }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  explicit operator bool() const noexcept { return ok(); }

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
};

PROMPTETHEUS_END_NAMESPACE
