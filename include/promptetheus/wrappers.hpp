// Wrappers for callables with the event order of the reference decorators (contract §2.8):
//   observe(name, options, fn)  a new Session per call: session_started, tool_call, body events,
//                               tool_result, session_end
//   tool(name, fn)              tool_call / tool_result on the current() session at call time
//   traced(name, fn)            a Span of the current() session around each call
// Arguments are recorded as {"args": [arg, ...], "kwargs": {}} and results as JSON when
// nlohmann::json can represent the type (provide to_json for your own types), otherwise as the
// string "<unrepresentable>". An exception is recorded (tool_result.error "<type>: <what()>",
// session_end "failed") and rethrown unchanged. The wrappers themselves never throw anything but
// the wrapped function's exceptions.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "promptetheus/export.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

/// "<demangled type>: <what()>" for an exception (or "unknown exception"). Never throws.
PROMPTETHEUS_API std::string describe_exception(const std::exception_ptr& exception) noexcept;

PROMPTETHEUS_END_NAMESPACE

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

template <class T>
nlohmann::json to_json_or_placeholder(const T& value) noexcept {
  try {
    if constexpr (std::is_constructible_v<nlohmann::json, const T&>) {
      return nlohmann::json(value);
    } else {
      return "<unrepresentable>";
    }
  } catch (...) {
    return "<unrepresentable>";
  }
}

template <class... Args>
nlohmann::json call_arguments(const Args&... args) noexcept {
  try {
    nlohmann::json list = nlohmann::json::array();
    (list.push_back(to_json_or_placeholder(args)), ...);
    return nlohmann::json{{"args", std::move(list)}, {"kwargs", nlohmann::json::object()}};
  } catch (...) {
    return nlohmann::json::object();
  }
}

/// Runs `fn(args...)` between tool_call and tool_result on `session`.
template <class F, class... Args>
decltype(auto) run_as_tool(const SessionHandle& session, const std::string& name, F& fn, Args&&... args) {
  using Result = std::invoke_result_t<F&, Args&&...>;
  std::string call_id = session.tool_call(name, call_arguments(args...));
  try {
    if constexpr (std::is_void_v<Result>) {
      std::invoke(fn, std::forward<Args>(args)...);
      session.tool_result(call_id, nullptr);
    } else {
      Result result = std::invoke(fn, std::forward<Args>(args)...);
      session.tool_result(call_id, to_json_or_placeholder(result));
      return result;
    }
  } catch (...) {
    session.tool_result(call_id, nullptr, describe_exception(std::current_exception()));
    throw;
  }
}

// The wrappers' callables. Each can be called when const (if the wrapped function can) and is
// copyable when the wrapped function is, so that it can be kept in a const variable or copied
// into another thread (std::async, std::thread).

template <class F>
struct Observed {
  std::string name;
  SessionOptions options;
  F fn;

  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    return run(*this, std::forward<Args>(args)...);
  }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return run(*this, std::forward<Args>(args)...);
  }

 private:
  // One body for both call operators (`Self` is Observed or const Observed).
  template <class Self, class... Args>
  static decltype(auto) run(Self& self, Args&&... args) {
    Session session(self.options);
    try {
      return run_as_tool(session, self.name, self.fn, std::forward<Args>(args)...);
    } catch (...) {
      session.fail(std::current_exception());
      throw;
    }
  }
};

template <class F>
struct AsTool {
  std::string name;
  F fn;

  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    return run_as_tool(current_for_recording(), name, fn, std::forward<Args>(args)...);
  }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return run_as_tool(current_for_recording(), name, fn, std::forward<Args>(args)...);
  }
};

template <class F>
struct Traced {
  std::string name;
  F fn;

  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    return run(*this, std::forward<Args>(args)...);
  }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return run(*this, std::forward<Args>(args)...);
  }

 private:
  // One body for both call operators (`Self` is Traced or const Traced).
  template <class Self, class... Args>
  static decltype(auto) run(Self& self, Args&&... args) {
    Span span(self.name);
    return std::invoke(self.fn, std::forward<Args>(args)...);
  }
};

PROMPTETHEUS_END_DETAIL_NAMESPACE

PROMPTETHEUS_BEGIN_NAMESPACE


/// A callable that runs `fn` in a new Session per call (agent defaults to `name`).
template <class F>
auto observe(std::string name, SessionOptions options, F fn) {
  if (options.agent.empty()) options.agent = name;
  return detail::Observed<F>{std::move(name), std::move(options), std::move(fn)};
}

/// A callable that records each call as a tool call of the current() session.
template <class F>
auto tool(std::string name, F fn) {
  return detail::AsTool<F>{std::move(name), std::move(fn)};
}

/// A callable that wraps each call in a Span of the current() session.
template <class F>
auto traced(std::string name, F fn) {
  return detail::Traced<F>{std::move(name), std::move(fn)};
}

PROMPTETHEUS_END_NAMESPACE
